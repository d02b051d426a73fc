import type { FastifyRequest } from 'fastify'

/**
 * The user banner on Flink's dashboard: the page Flink serves at `/` (or `/index.html`) gets two tags before
 * its `</head>`, a stylesheet and a deferred script, both flink-guard's own files beside the page
 * (banner-assets.ts). The script asks who-am-I and draws who is signed in, their role on this cluster and a
 * way to sign out. Nothing inline: a Content-Security-Policy that allows the page's own scripts and styles
 * (`'self'`) allows these, and Flink's markup is otherwise left as it came.
 *
 * The paths are relative to the page, so the same tags work at `/`, `/clusters/<name>/` and `/proxy/<app>/`
 * and behind a front proxy that mounts flink-guard under a path of its own.
 */
export const BANNER_DIR = '_flink-guard'
export const BANNER_SCRIPT = 'banner.js'
export const BANNER_STYLE = 'banner.css'

const TAGS =
  `<link rel="stylesheet" href="${BANNER_DIR}/${BANNER_STYLE}">` +
  `<script src="${BANNER_DIR}/${BANNER_SCRIPT}" defer></script>`
const HEAD_END = /<\/head\s*>/i
const HTML_TYPE = /^text\/html\b/i

/** Whether Flink's answer is the dashboard's page, which gets the banner (status and type checked by the caller). */
export function isDashboardPage(request: FastifyRequest, contentType: string): boolean {
  const path = request.canonical?.path
  return (
    (request.method === 'GET' || request.method === 'HEAD') &&
    (path === '/' || path === '/index.html') &&
    HTML_TYPE.test(contentType)
  )
}

/** The page with the banner's tags before its first `</head>`; null when it has none (then it goes back unchanged). */
export function withBanner(page: string): string | null {
  const end = HEAD_END.exec(page)
  if (end === null) return null
  return `${page.slice(0, end.index)}${TAGS}${page.slice(end.index)}`
}
