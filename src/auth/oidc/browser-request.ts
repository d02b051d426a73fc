import type { IncomingHttpHeaders } from 'node:http'

/**
 * A top-level page load by a browser, which a login redirect can serve; anything else (the dashboard's
 * XHRs, fetch(), curl, the Flink CLI) gets a 401 it can act on instead of an HTML login page.
 * Fetch Metadata (`Sec-Fetch-Mode: navigate`) decides where the browser sends it; older browsers are
 * recognised by `Accept: text/html` and no `X-Requested-With` (the header jQuery-era XHRs set).
 */
export function isBrowserNavigation(method: string, headers: IncomingHttpHeaders): boolean {
  if (method !== 'GET') return false
  const mode = headers['sec-fetch-mode']
  if (mode !== undefined && mode !== 'navigate') return false
  if (headers['x-requested-with'] !== undefined) return false
  return /\btext\/html\b/i.test(headers.accept ?? '')
}
