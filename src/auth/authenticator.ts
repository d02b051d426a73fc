import type { IncomingHttpHeaders } from 'node:http'
import type { Socket } from 'node:net'
import type { ErrorCode } from '../errors.js'
import type { CheckResult } from '../observability/health.js'
import type { AuthMethod, Identity } from './identity.js'

/** What an authenticator may look at: headers and the connection, never the body (it has not been read). */
export interface Credentials {
  readonly headers: IncomingHttpHeaders
  /** A `tls.TLSSocket` on a TLS listener (peer certificate), a plain socket otherwise. */
  readonly socket: Socket
  /** The client's address as the proxy sees it (after trusted-proxy handling). */
  readonly remoteAddress: string
}

/** A present credential that was refused: always the end of authentication, never a fall-through. */
export interface AuthRefusal {
  readonly kind: 'refused'
  readonly method: AuthMethod
  /** An FG_ERR_AUTH_* code; its status (401 or 429) is the response status. */
  readonly code: ErrorCode
  /** For the log and the `flink_guard_auth_failures_total{reason}` label: short, fixed vocabulary, no secrets. */
  readonly reason: string
  /** Seconds for `Retry-After` when throttled. */
  readonly retryAfterSec?: number
  /** The user name a Basic credential claimed, for the log line of the refusal (never the password). */
  readonly user?: string
  /** `Set-Cookie` lines the response must carry (an OIDC session that ended is deleted). */
  readonly setCookies?: readonly string[]
}

export interface AuthAcceptance {
  readonly kind: 'accepted'
  readonly identity: Identity
  /** `Set-Cookie` lines the response must carry (an OIDC session refreshed on this request). */
  readonly setCookies?: readonly string[]
}

export type AuthOutcome =
  /** This authenticator's credential is not in the request: the next one is asked. */
  { readonly kind: 'absent' } | AuthAcceptance | AuthRefusal

/**
 * One authentication scheme. The chain (src/auth/chain.ts) asks each in the configured order; the first that
 * does not answer `absent` decides.
 */
export interface Authenticator {
  readonly method: AuthMethod
  /** Its RFC 7235 challenge for `WWW-Authenticate` (`Basic realm="flink"`), told of its own refusal if any; null when the scheme has none (mTLS, OIDC). */
  challenge(refusal?: AuthRefusal): string | null
  authenticate(credentials: Credentials): AuthOutcome | Promise<AuthOutcome>
  /** Readiness: its key source is loaded (JWKS fetched once, htpasswd read). */
  ready(): CheckResult
  /**
   * ready() waits on an identity provider over the network (a JWKS URI, OIDC discovery). `/readyz` then shows
   * the check without failing on it, so a provider's blip never takes the pod out of its Service; `/readyz/strict`
   * fails on it.
   */
  readonly readinessNeedsProvider: boolean
  /** Stops watchers and timers. */
  close(): Promise<void>
}
