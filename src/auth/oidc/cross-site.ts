import type { IncomingHttpHeaders } from 'node:http'
import { matchRoute } from '../../authz/match.js'

/** RFC 9110 §9.2.1 safe methods: they must not change state, so a cross-site one is harmless. */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])
/** ENDPOINTS.md note 2: Flink's GETs that act on a job (the dashboard's cancel button on YARN). */
const STATE_CHANGING_GETS = new Set(['/jobs/:jobid/yarn-cancel', '/jobs/:jobid/yarn-stop'])

/** A request that changes state in Flink, by its method or, for Flink's acting GETs, by its route. */
export function changesState(method: string, matchPath: string): boolean {
  if (!SAFE_METHODS.has(method)) return true
  if (method === 'OPTIONS') return false
  const match = matchRoute('GET', matchPath)
  return match.route !== null && STATE_CHANGING_GETS.has(match.route.template)
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
