import type { FastifyInstance } from 'fastify'
import { BANNER_DIR, BANNER_SCRIPT, BANNER_STYLE } from './banner.js'

/**
 * The banner's two files (banner.ts puts their tags in the dashboard's page). The script reads who-am-I from
 * the same directory and builds its elements with the DOM, never from markup: a subject such as
 * `<img onerror=…>` is text. It draws nothing when who-am-I does not answer (signed out, or the proxy in
 * front strips the path), so the dashboard is never worse off for it.
 */
const SCRIPT = `(() => {
  'use strict'
  const dir = new URL('.', document.currentScript.src)
  const element = (tag, text) => {
    const node = document.createElement(tag)
    if (text !== undefined) node.textContent = text
    return node
  }
  const show = (me) => {
    const banner = element('div')
    banner.className = 'flink-guard-banner'
    banner.setAttribute('role', 'status')
    banner.setAttribute('aria-label', 'flink-guard: signed-in user')
    const subject = element('strong', me.subject)
    subject.className = 'flink-guard-subject'
    const role = element('span', me.preset === null ? 'no role here' : me.preset)
    role.className = 'flink-guard-role'
    banner.append('Signed in as ', subject, ' (' + me.method + ') \\u00b7 role ', role)
    if (me.cluster !== 'default') banner.append(' on ', element('strong', me.cluster))
    if (typeof me.signOutPath === 'string') {
      const out = element('a', 'Sign out')
      out.className = 'flink-guard-sign-out'
      out.href = new URL(me.signOutPath, location.origin).href
      banner.append(' ', out)
    }
    document.body.append(banner)
  }
  // After the page's load: the dashboard's own start-up calls go first.
  const ask = () =>
    fetch(new URL('whoami', dir), { credentials: 'same-origin', headers: { accept: 'application/json' } })
      .then((response) => (response.ok ? response.json() : null))
      .then((me) => { if (me !== null && typeof me.subject === 'string') show(me) })
      .catch(() => {})
  if (document.readyState === 'complete') ask()
  else window.addEventListener('load', ask, { once: true })
})()
`

const STYLE = `.flink-guard-banner {
  position: fixed; right: 12px; bottom: 12px; z-index: 10000;
  padding: 6px 12px; border-radius: 4px;
  background: #1f2d3d; color: #fff; box-shadow: 0 2px 8px rgba(0, 0, 0, .25);
  font: 13px/20px -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
}
.flink-guard-banner .flink-guard-role { font-weight: 600; color: #ffd666; }
.flink-guard-banner .flink-guard-sign-out { margin-left: 8px; color: #91d5ff; text-decoration: underline; }
`

const FILES = [
  { name: BANNER_SCRIPT, type: 'text/javascript; charset=utf-8', body: SCRIPT },
  { name: BANNER_STYLE, type: 'text/css; charset=utf-8', body: STYLE },
] as const

/** Registers the two files under each of `bases` (the dashboard's roots: `''`, `/clusters/:cluster`, …). */
export function bannerAssetRoutes(scope: FastifyInstance, bases: readonly string[]): void {
  for (const base of bases) {
    for (const file of FILES) {
      scope.get(`${base}/${BANNER_DIR}/${file.name}`, async (_request, reply) =>
        // Revalidated on every load: a new version's banner is never stuck behind an old cached one.
        reply.header('cache-control', 'no-cache').type(file.type).send(file.body),
      )
    }
  }
}
