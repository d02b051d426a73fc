import type { IncomingHttpHeaders } from 'node:http'
import * as client from 'openid-client'
import { FlinkGuardError } from '../../errors.js'
import type { AuthRefusal } from '../authenticator.js'
import { isSameOriginRequest } from '../cross-site.js'
import { isBrowserNavigation } from './browser-request.js'
import { type OidcConfig, publicOriginOf } from './config.js'
import { parseCookieHeader, repeatedCookieNames } from './cookie-header.js'
import { LOGIN_COOKIE, type LoginTransactionCookie } from './login-transaction.js'
import { ProviderError, type RelyingParty } from './relying-party.js'
import { safeReturnPath } from './return-path.js'
import type { Session, SessionCookie } from './session-cookie.js'

/** A response the login routes send: where the browser goes next, and the cookies that change. */
export interface LoginRedirect {
  readonly location: string
  readonly setCookies: readonly string[]
}

/**
 * The browser side of OIDC: the redirect to the provider, the callback that turns a code into a session
 * cookie, logout, and the cross-site check every cookie-authenticated request passes. Stateless: the login in
 * progress travels in its own sealed cookie, the session in another.
 */
export class OidcLogin {
  readonly callbackPath: string
  readonly logoutPath: string
  readonly publicOrigin: string

  constructor(
    config: OidcConfig,
    private readonly relyingParty: RelyingParty,
    private readonly sessions: SessionCookie,
    private readonly transactions: LoginTransactionCookie,
  ) {
    this.callbackPath = config.redirectPath
    this.logoutPath = config.logoutPath
    this.publicOrigin = publicOriginOf(config)
  }

  /** A browser page load with no session (or one that just ended) is sent to log in; everything else gets the 401. */
  redirectsToLogin(method: string, headers: IncomingHttpHeaders, refusal: AuthRefusal | null): boolean {
    return (refusal === null || refusal.method === 'oidc') && isBrowserNavigation(method, headers)
  }

  /** To the provider, remembering state, nonce, PKCE verifier and where the user was going. */
  async start(requestTarget: string): Promise<LoginRedirect> {
    const transaction = {
      state: client.randomState(),
      nonce: client.randomNonce(),
      codeVerifier: client.randomPKCECodeVerifier(),
      returnTo: safeReturnPath(requestTarget),
    }
    const url = await providerCall(() => this.relyingParty.authorizationUrl(transaction))
    return { location: url.href, setCookies: [await this.transactions.write(transaction)] }
  }

  /**
   * The provider's redirect back: the login transaction must be there and match (state, nonce, PKCE), the
   * code is exchanged once. Whatever happens, the transaction cookie is deleted: it is single-use.
   */
  async callback(query: string, cookieHeader: string | undefined): Promise<LoginRedirect> {
    const cookies = parseCookieHeader(cookieHeader)
    const cleared = this.transactions.clear()
    const repeated = repeatedCookieNames(cookieHeader).has(LOGIN_COOKIE)
    const transaction = repeated ? null : await this.transactions.read(cookies)
    if (transaction === null) {
      const reason = new Error(
        repeated
          ? 'the login transaction cookie was sent twice'
          : 'no valid login transaction cookie (expired, altered, or from another browser)',
      )
      throw withCookies(new FlinkGuardError('FG_ERR_AUTH_LOGIN_FAILED', { cause: reason }), [cleared])
    }
    let session: Session
    try {
      session = await providerCall(() => this.relyingParty.exchange(query, transaction))
    } catch (err) {
      throw withCookies(err as FlinkGuardError, [cleared])
    }
    return {
      location: safeReturnPath(transaction.returnTo),
      setCookies: [cleared, ...(await this.sessions.write(session, cookies))],
    }
  }

  /**
   * Deletes the session, revokes its refresh token, and signs out at the provider when it offers that. Only
   * for a same-origin POST (login-routes.ts): a cross-site logout would be a CSRF.
   */
  async logout(cookieHeader: string | undefined): Promise<LoginRedirect> {
    const cookies = parseCookieHeader(cookieHeader)
    const read = await this.sessions.read(cookies)
    if (read.kind === 'valid' && read.session.refreshToken !== null) {
      await this.relyingParty.revoke(read.session.refreshToken)
    }
    const home = `${this.publicOrigin}/`
    const endSession = await this.relyingParty.endSessionUrl(home)
    return { location: endSession?.href ?? '/', setCookies: this.sessions.clear(cookies) }
  }

  /** The request shows it comes from the proxy's own pages (Fetch Metadata or Origin). */
  isSameOrigin(headers: IncomingHttpHeaders): boolean {
    return isSameOriginRequest(headers, this.publicOrigin)
  }
}

/** Runs a provider call: its refusal is a failed login (401), its absence a 503 (retry later). */
async function providerCall<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation()
  } catch (err) {
    if (err instanceof ProviderError && err.kind === 'refused') {
      throw new FlinkGuardError('FG_ERR_AUTH_LOGIN_FAILED', { cause: err })
    }
    throw new FlinkGuardError('FG_ERR_AUTH_PROVIDER_UNAVAILABLE', { cause: err })
  }
}

/** A FlinkGuardError that carries the Set-Cookie lines its response must still send. */
export type LoginError = FlinkGuardError & { setCookies?: readonly string[] }

function withCookies(error: FlinkGuardError, setCookies: readonly string[]): LoginError {
  return Object.assign(error, { setCookies })
}
