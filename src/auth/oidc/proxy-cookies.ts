import { withoutCookies } from './cookie-header.js'
import { LOGIN_COOKIE } from './login-transaction.js'
import { isSessionCookie } from './session-cookie.js'

/** The Cookie header Flink gets: the user's cookies without the proxy's session chunks and login transaction. */
export function withoutProxyCookies(header: string): string | undefined {
  return withoutCookies(header, (name) => name === LOGIN_COOKIE || isSessionCookie(name))
}
