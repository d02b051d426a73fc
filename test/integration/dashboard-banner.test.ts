import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DASHBOARD_HTML } from '../../src/standin/payloads.js'
import { type Standin, startStandin } from '../../src/standin/server.js'
import { basicAuth, htpasswdFor } from './support/gateway.js'
import { startProxy, type TestProxy } from './support/proxy.js'

/**
 * The user banner's plumbing through the real proxy: the dashboard's page gets two tags of flink-guard's own
 * and nothing else changes; the files they name are served (authenticated, typed, never inline code). What
 * Chromium draws from them, on the real dashboard, is in test/e2e/flink-dashboard.test.ts and
 * test/e2e/dashboard-banner.test.ts.
 */

const TAGS =
  '<link rel="stylesheet" href="_flink-guard/banner.css"><script src="_flink-guard/banner.js" defer></script>'
const VIEWER = basicAuth('vera')

let standin: Standin
let proxy: TestProxy
let plain: TestProxy

beforeAll(async () => {
  standin = await startStandin()
  const auth = { basic: { htpasswd: htpasswdFor(['vera']), users: { vera: ['watchers'] } } }
  proxy = await startProxy(standin.url, { auth, authz: { roles: { watchers: 'viewer' } } })
  plain = await startProxy(standin.url, {
    auth,
    authz: { roles: { watchers: 'viewer' } },
    responses: { userBanner: false },
  })
})
afterAll(async () => {
  await Promise.all([proxy.close(1_000), plain.close(1_000)])
  await standin.close()
})

async function get(
  base: TestProxy,
  path: string,
  headers: Record<string, string> = { authorization: VIEWER },
) {
  const response = await request(`${base.proxyUrl}${path}`, { headers })
  const body = await response.body.text()
  return { status: response.statusCode, headers: response.headers, body }
}

describe("the dashboard's page", () => {
  it.each(['/', '/index.html'])(
    '%s gets the two tags before </head>, once, and is otherwise what Flink sent',
    async (path) => {
      const page = await get(proxy, path)
      expect(page.status).toBe(200)
      expect(page.headers['content-type']).toMatch(/^text\/html/)
      const at = DASHBOARD_HTML.indexOf('</head>')
      expect(page.body).toBe(`${DASHBOARD_HTML.slice(0, at)}${TAGS}${DASHBOARD_HTML.slice(at)}`)
      // The length Flink declared is not passed on for a body that grew.
      const length = page.headers['content-length']
      if (length !== undefined) expect(Number(length)).toBe(Buffer.byteLength(page.body))
    },
  )

  it('is left exactly as Flink sent it with responses.userBanner: false', async () => {
    const page = await get(plain, '/')
    expect(page.status).toBe(200)
    expect(page.body).toBe(DASHBOARD_HTML)
    expect(Number(page.headers['content-length'])).toBe(Buffer.byteLength(DASHBOARD_HTML))
  })

  it("touches no other answer: Flink's JSON and a 404 go back byte for byte", async () => {
    for (const path of ['/overview', '/nothing-here.html']) {
      const direct = await request(`${standin.url}${path}`)
      const directBody = await direct.body.text()
      const proxied = await get(proxy, path)
      expect(proxied.status).toBe(direct.statusCode)
      expect(proxied.body).toBe(directBody)
      expect(proxied.body).not.toContain('_flink-guard/banner')
    }
  })

  it('is not served without credentials: the banner never makes the page public', async () => {
    const page = await get(proxy, '/', {})
    expect(page.status).toBe(401)
    expect(page.body).not.toContain('banner')
  })
})

describe("the banner's files", () => {
  it.each([
    ['/_flink-guard/banner.js', /^text\/javascript; charset=utf-8$/, "fetch(new URL('whoami', dir)"],
    ['/_flink-guard/banner.css', /^text\/css; charset=utf-8$/, '.flink-guard-banner {'],
  ])("%s is flink-guard's own, typed (nosniff holds), revalidated on each load", async (path, type, text) => {
    standin.record.reset()
    const file = await get(proxy, path)
    expect(file.status).toBe(200)
    expect(file.headers['content-type']).toMatch(type)
    expect(file.headers['x-content-type-options']).toBe('nosniff')
    expect(file.headers['cache-control']).toBe('no-cache')
    expect(file.body).toContain(text)
    expect(standin.record.count).toBe(0)
  })

  it('need credentials like the page, and are refused to a wrong password', async () => {
    expect((await get(proxy, '/_flink-guard/banner.js', {})).status).toBe(401)
    expect(
      (await get(proxy, '/_flink-guard/banner.js', { authorization: basicAuth('vera', 'wrong') })).status,
    ).toBe(401)
  })

  it('build the banner from the DOM, never from markup, so a subject is only ever text', async () => {
    const script = (await get(proxy, '/_flink-guard/banner.js')).body
    expect(script).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write/)
    expect(script).toContain('textContent')
  })

  it('sit beside who-am-I, whose answer names no sign-out for Basic (the browser holds that credential)', async () => {
    const me = JSON.parse((await get(proxy, '/_flink-guard/whoami')).body)
    expect(me).toMatchObject({ subject: 'vera', method: 'basic', preset: 'viewer', signOutPath: null })
  })
})
