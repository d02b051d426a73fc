import type { IncomingHttpHeaders } from 'node:http'
import { matchRoute } from '../authz/match.js'
import type { AuthMethod } from './identity.js'

/** RFC 9110 §9.2.1 safe methods: they must not change state, so a cross-site one is harmless. */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])

/**
 * A request that changes state in Flink or runs user code: by its method, or, for a GET (and the HEAD that
 * is authorised as it), by its route's `actingGet` flag (`src/authz/routes.ts`: yarn-cancel, the jar list
 * and plan, the flame graph, ...).
 */
export function changesState(method: string, matchPath: string): boolean {
  if (!SAFE_METHODS.has(method)) return true
  if (method === 'OPTIONS') return false
  return matchRoute('GET', matchPath).route?.actingGet === true
}

/**
 * CSRF defence for cookie sessions (the browser attaches the cookie to requests other sites start): a
 * state-changing request must show it comes from the proxy's own pages, by Fetch Metadata
 * (`Sec-Fetch-Site: same-origin`) or by an `Origin` equal to the public origin. Both headers are set by the
 * browser and cannot be forged by a page. A request with neither is refused: it is either not a browser
 * (which should use a bearer token) or a browser too old to say, and failing closed costs it one click.
 */
export function isSameOriginRequest(headers: IncomingHttpHeaders, publicOrigin: string): boolean {
  return headers['sec-fetch-site'] === 'same-origin' || headers.origin === publicOrigin
}

/**
 * A browser's sign that another site started the request: Fetch Metadata saying `cross-site` or `same-site`,
 * or an `Origin` that is not the proxy's own (`null` included). Clients that are not browsers send neither.
 * Origins the operator allowed credentialed CORS calls from (`responses.cors` with `allowCredentials`) are
 * trusted like the proxy's own.
 */
export function hasCrossSiteSignal(
  headers: IncomingHttpHeaders,
  ownOrigin: string | null,
  trustedOrigins: ReadonlySet<string>,
): boolean {
  if (headers.origin !== undefined && trustedOrigins.has(headers.origin)) return false
  const site = headers['sec-fetch-site']
  if (site === 'cross-site' || site === 'same-site') return true
  return headers.origin !== undefined && headers.origin !== ownOrigin
}

/** The origin a request was addressed to (`https://host:port`), as browsers write `Origin`; null if unusable. */
export function originOf(protocol: string, host: string | undefined): string | null {
  if (host === undefined || host === '' || /[/\\?#@\s]/.test(host)) return null
  try {
    // Lower-cases the name and drops a default port, as Origin has them.
    return new URL(`${protocol}://${host}`).origin
  } catch {
    return null
  }
}

/**
 * CSRF for every credential a browser sends by itself. A cookie session needs a positive same-origin signal
 * (isSameOriginRequest). Basic credentials, client certificates and the anonymous identity are attached or
 * granted by the browser too (cached Basic credentials, a remembered certificate, the network a browser sits
 * in), so a state-changing request with a browser's cross-site signal is refused; without any signal (the
 * Flink CLI, curl, automation) it passes. Only bearer tokens are exempt: no browser attaches one on its own.
 */
export function refusesCrossSite(
  method: AuthMethod,
  requestMethod: string,
  matchPath: string,
  headers: IncomingHttpHeaders,
  /** Asked only for a state-changing request: working it out may parse the Host header. */
  ownOrigin: () => string | null,
  trustedOrigins: ReadonlySet<string>,
): boolean {
  if (method === 'jwt' || !changesState(requestMethod, matchPath)) return false
  const origin = ownOrigin()
  if (method === 'oidc') return origin === null || !isSameOriginRequest(headers, origin)
  return hasCrossSiteSignal(headers, origin, trustedOrigins)
}
