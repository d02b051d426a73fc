import { clearCookie, setCookie } from './cookie-header.js'
import type { SealedTokens } from './sealed-token.js'
import { nowSec } from './session-cookie.js'

/** What the callback must check the provider's answer against, and where the user was going. */
export interface LoginTransaction {
  readonly state: string
  readonly nonce: string
  readonly codeVerifier: string
  /** A same-origin path (see safeReturnPath). */
  readonly returnTo: string
}

/** `__Host-` like the session cookie (see SESSION_COOKIE), hence Path=/. */
export const LOGIN_COOKIE = '__Host-fg_login'
/** Long enough to type a password and pass a second factor; a stale login page must start over. */
export const LOGIN_TRANSACTION_SEC = 600

/**
 * The login in progress, sealed into a short-lived cookie: the provider's redirect back is a top-level GET
 * navigation, so SameSite=Lax still sends it. The `__Host-` prefix requires Path=/, so every request of the
 * browser carries it during the login; only the callback reads it, and it is stripped from what Flink gets.
 * One per browser: a second login started meanwhile replaces it.
 */
export class LoginTransactionCookie {
  constructor(private readonly tokens: SealedTokens) {}

  async write(transaction: LoginTransaction): Promise<string> {
    const sealed = await this.tokens.seal({ ...transaction }, nowSec() + LOGIN_TRANSACTION_SEC)
    return setCookie(LOGIN_COOKIE, sealed, { maxAgeSec: LOGIN_TRANSACTION_SEC, path: '/' })
  }

  async read(cookies: ReadonlyMap<string, string>): Promise<LoginTransaction | null> {
    const sealed = cookies.get(LOGIN_COOKIE)
    if (sealed === undefined) return null
    const claims = await this.tokens.open(sealed)
    if (claims === null) return null
    const { state, nonce, codeVerifier, returnTo } = claims
    if ([state, nonce, codeVerifier, returnTo].some((value) => typeof value !== 'string' || value === '')) {
      return null
    }
    return { state, nonce, codeVerifier, returnTo } as LoginTransaction
  }

  clear(): string {
    return clearCookie(LOGIN_COOKIE, '/')
  }
}
