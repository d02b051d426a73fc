import { createHash } from 'node:crypto'
import { ConfigError } from '../../config/load.js'
import type { CheckResult } from '../../observability/health.js'
import type {
  AuthAcceptance,
  Authenticator,
  AuthOutcome,
  AuthRefusal,
  Credentials,
} from '../authenticator.js'
import type { AuthenticatorOptions, AuthLogger } from '../logger.js'
import { frozenIdentity, refusal } from '../refusal.js'
import { type OidcConfig, oidcConfigProblems } from './config.js'
import { parseCookieHeader, repeatedCookieNames } from './cookie-header.js'
import { OidcLogin } from './login-flow.js'
import { LOGIN_COOKIE, LoginTransactionCookie } from './login-transaction.js'
import { isProxyCookie } from './proxy-cookies.js'
import { RelyingParty } from './relying-party.js'
import { SealedTokens } from './sealed-token.js'
import { nowSec, type Session, SessionCookie } from './session-cookie.js'

/** A session is refreshed this long before the provider's token ends, so no request races the expiry… */
export const REFRESH_EARLY_SEC = 60

/**
 * …or half the token's lifetime when that is shorter: with tokens of 60 s or less a fixed 60 s margin would
 * be reached at once, and every request would refresh.
 */
export function refreshMarginSec(session: Pick<Session, 'expiresAt' | 'issuedAt'>): number {
  const lifetime = session.expiresAt - session.issuedAt
  return Math.max(0, Math.min(REFRESH_EARLY_SEC, lifetime / 2))
}

/**
 * The OIDC session cookie as a credential. A valid session is the identity it holds; a session near or past
 * its expiry (see refreshMarginSec) is refreshed on the request with its refresh token (the new cookie goes out on the response);
 * a cookie that is altered, sealed with an unknown secret, truncated or expired without a way to refresh is
 * a 401 that deletes it. The login itself (redirect, callback, logout) is `login` (login-flow.ts).
 */
export class OidcAuthenticator implements Authenticator {
  readonly readinessNeedsProvider = true
  readonly method = 'oidc' as const
  readonly login: OidcLogin
  readonly #relyingParty: RelyingParty
  readonly #sessions: SessionCookie
  readonly #transactions: LoginTransactionCookie
  readonly #logger: AuthLogger
  /** One refresh per refresh token at a time: the dashboard's parallel XHRs share it. */
  readonly #refreshing = new Map<string, Promise<Session>>()

  constructor(config: OidcConfig, options: AuthenticatorOptions) {
    const problems = oidcConfigProblems(config)
    if (problems.length > 0) throw new ConfigError('auth.oidc', problems)
    this.#logger = options.logger
    this.#relyingParty = new RelyingParty(config, options.logger)
    this.#sessions = new SessionCookie(
      new SealedTokens(config.cookieSecret, 'session'),
      config.sessionLifetimeSec,
    )
    this.#transactions = new LoginTransactionCookie(new SealedTokens(config.cookieSecret, 'login'))
    this.login = new OidcLogin(config, this.#relyingParty, this.#sessions, this.#transactions)
  }

  static async create(config: OidcConfig, options: AuthenticatorOptions): Promise<OidcAuthenticator> {
    const authenticator = new OidcAuthenticator(config, options)
    await authenticator.#relyingParty.start()
    return authenticator
  }

  challenge(): null {
    return null
  }

  ready(): CheckResult {
    return this.#relyingParty.ready()
  }

  async close(): Promise<void> {
    await this.#relyingParty.close()
  }

  async authenticate({ headers }: Credentials): Promise<AuthOutcome> {
    const cookies = parseCookieHeader(headers.cookie)
    // One of our names twice: someone else set a copy, and which one comes first is not ours to pick.
    const repeated = [...repeatedCookieNames(headers.cookie)].filter(isProxyCookie)
    if (repeated.length > 0) return this.#end(cookies, 'repeated_cookie', repeated.includes(LOGIN_COOKIE))
    const read = await this.#sessions.read(cookies)
    if (read.kind === 'absent') return read
    if (read.kind === 'invalid') return this.#end(cookies, 'invalid_session')
    const { session } = read
    const now = nowSec()
    if (session.expiresAt - refreshMarginSec(session) > now) return accepted(session)
    if (session.refreshToken === null) {
      return session.expiresAt > now ? accepted(session) : this.#end(cookies, 'expired')
    }
    try {
      const renewed = await this.#refresh(session)
      return accepted(renewed, await this.#sessions.write(renewed, cookies))
    } catch (err) {
      const { reason } = err as { reason?: string }
      this.#logger.warn(
        { subject: session.subject, reason: reason ?? (err as Error).message },
        'session refresh failed',
      )
      // A session still valid for its last seconds lives them out, and its cookie is left alone: the provider
      // may be down, or another replica or tab has just rotated this refresh token, and deleting the cookie
      // here would delete the new session that replica set. Past its expiry, a failed refresh ends it.
      if (session.expiresAt > now) return accepted(session)
      return this.#end(cookies, 'refresh_failed')
    }
  }

  #refresh(session: Session): Promise<Session> {
    const key = createHash('sha256').update(session.refreshToken!).digest('base64url')
    let pending = this.#refreshing.get(key)
    if (pending === undefined) {
      pending = this.#relyingParty.refresh(session).finally(() => this.#refreshing.delete(key))
      this.#refreshing.set(key, pending)
    }
    return pending
  }

  #end(cookies: ReadonlyMap<string, string>, reason: string, clearLogin = false): AuthRefusal {
    const setCookies = this.#sessions.clear(cookies)
    return {
      ...refusal('oidc', 'FG_ERR_AUTH_SESSION_INVALID', reason),
      setCookies: clearLogin ? [...setCookies, this.#transactions.clear()] : setCookies,
    }
  }
}

function accepted(session: Session, setCookies?: readonly string[]): AuthAcceptance {
  const identity = frozenIdentity({
    subject: session.subject,
    roles: [...session.roles],
    method: 'oidc',
    claims: { sub: session.subject },
  })
  return setCookies === undefined
    ? { kind: 'accepted', identity }
    : { kind: 'accepted', identity, setCookies }
}
