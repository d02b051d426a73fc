import type { FastifyReply, FastifyRequest } from 'fastify'
import type { FlinkGuardError } from './errors.js'

/**
 * The refusal a person sees when the browser's address bar or a link asked (src/auth/oidc/browser-request.ts):
 * what was refused, why, who the proxy takes them for, a way back and a way out. XHRs, fetch() and API
 * clients never get it: they keep Flink's JSON shape. No script, and a policy that allows none.
 */
export function errorPage(error: FlinkGuardError, request: FastifyRequest, reply: FastifyReply): string {
  const csp = reply.getHeader('content-security-policy')
  reply
    .header('content-security-policy', `default-src 'none'${csp === undefined ? '' : `; ${csp}`}`)
    .header('cache-control', 'no-store')
    .type('text/html; charset=utf-8')
  const { identity, authz } = request
  // The role only once authorization has judged the request (a cross-site or cluster refusal comes before it).
  const role =
    authz === null
      ? ''
      : authz.preset === null
        ? ', with no role here'
        : `, role <strong>${authz.preset}</strong>`
  const who =
    identity === null
      ? '<p>You are not signed in.</p>'
      : `<p>You are signed in as <strong>${html(identity.subject)}</strong> (${identity.method})${role}.</p>`
  const logoutPath = identity?.method === 'oidc' ? request.pipeline.login?.logoutPath : undefined
  const home = `${request.publicBase?.path ?? ''}/`
  return `<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Refused: ${html(error.message)}</title></head>
<body>
<h1>flink-guard refused this request</h1>
<p><code>${html(request.method)} ${html(pathOf(request.url))}</code></p>
<p>${html(error.message)} (<code>${error.code}</code>, HTTP ${error.statusCode}).</p>
${who}
<p><a href="${html(home)}">Back to the dashboard</a>${logoutPath === undefined ? '' : ` · <a href="${html(logoutPath)}">Sign out</a>`}</p>
</body>
</html>
`
}

/** The path without its query: a query can carry what a page should not echo (tokens, codes). */
const pathOf = (url: string): string => url.split('?', 1)[0]!

const ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
}
const html = (text: string): string => text.replace(/[&<>"']/g, (c) => ESCAPES[c]!)
