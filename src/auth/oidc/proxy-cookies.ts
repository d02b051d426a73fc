import { withoutCookies } from './cookie-header.js'
import { LOGIN_COOKIE } from './login-transaction.js'
import { isSessionCookie } from './session-cookie.js'

/** The cookie names of releases before the `__Host-` prefix: never read any more, still kept from Flink. */
const LEGACY_COOKIE = /^fg_(?:login|session\.\d+)$/

/** A cookie the proxy reads: the session chunks and the login transaction. */
export const isProxyCookie = (name: string): boolean => name === LOGIN_COOKIE || isSessionCookie(name)

/**
 * The Cookie header Flink gets: the user's cookies without the proxy's session chunks and login transaction
 * (matched without regard to case, as browsers match the `__Host-` prefix), nor their pre-`__Host-` names.
 */
export function withoutProxyCookies(header: string): string | undefined {
  return withoutCookies(header, (name) => {
    const lower = name.toLowerCase()
    return isProxyCookie(lower.replace(/^__host-/, '__Host-')) || LEGACY_COOKIE.test(lower)
  })
}
