/**
 * What authenticators log through: structured object first, then the message (pino's and Fastify's
 * `request.log` shape), so the lead can pass `app.log` and tests a recorder.
 */
export interface AuthLogger {
  info(details: object, message: string): void
  warn(details: object, message: string): void
  error(details: object, message: string): void
}

import type { LoginThrottle, ThrottleLimits } from './basic/throttle.js'

export interface AuthenticatorOptions {
  readonly logger: AuthLogger
  /** Told of every reload of a credential file (htpasswd), for `flink_guard_reloads_total`. */
  readonly onReload?: (what: 'htpasswd', result: 'success' | 'failure') => void
  /** Where the Basic login's failures are counted; absent: in this authenticator (a reload starts afresh). */
  readonly loginThrottle?: (limits: ThrottleLimits) => LoginThrottle
}
