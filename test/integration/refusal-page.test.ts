import { request } from 'undici'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { type Standin, startStandin } from '../../src/standin/server.js'
import { basicAuth, htpasswdFor } from './support/gateway.js'
import { startProxy, type TestProxy } from './support/proxy.js'
import { RawConnection } from './support/raw-http.js'

/**
 * A refusal a person meets in the address bar is a page (what, why, who, a way back); the same refusal to the
 * dashboard's XHRs, fetch() or the CLI keeps Flink's JSON shape, so their error handling still reads it.
 * Chromium's view of the page is in test/e2e/flink-dashboard.test.ts.
 */

let standin: Standin
let proxy: TestProxy
const VIEWER = basicAuth('vera')
/** What Chromium sends for a typed URL or a followed link. */
const NAVIGATION = {
  accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
  'sec-fetch-mode': 'navigate',
  'sec-fetch-dest': 'document',
}

beforeAll(async () => {
  standin = await startStandin()
  proxy = await startProxy(standin.url, {
    auth: { basic: { htpasswd: htpasswdFor(['vera']), users: { vera: ['watchers'] } } },
    authz: { roles: { watchers: 'viewer' } },
  })
})
afterAll(async () => {
  await proxy.close(1_000)
  await standin.close()
})
beforeEach(() => standin.record.reset())

async function get(path: string, headers: Record<string, string>) {
  const response = await request(`${proxy.proxyUrl}${path}`, { headers })
  return { status: response.statusCode, headers: response.headers, body: await response.body.text() }
}

describe('a refused navigation', () => {
  it("is a page that says what was refused, why, who you are, and the way back, with Flink's status and code", async () => {
    const page = await get('/jars?token=s3cr3t', { ...NAVIGATION, authorization: VIEWER })
    expect(page.status).toBe(403)
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8')
    expect(page.headers['x-flink-guard-error']).toBe('FG_ERR_AUTHZ_PRESET_INSUFFICIENT')
    expect(page.headers['cache-control']).toBe('no-store')
    expect(page.headers['content-security-policy']).toMatch(/^default-src 'none'/)
    expect(page.body).toContain('<code>GET /jars</code>')
    expect(page.body).toContain('FG_ERR_AUTHZ_PRESET_INSUFFICIENT')
    expect(page.body).toContain('signed in as <strong>vera</strong> (basic), role <strong>viewer</strong>')
    expect(page.body).toContain('<a href="/">Back to the dashboard</a>')
    expect(page.body).not.toContain('<script')
    // The query is not echoed: it may carry what a page should not show.
    expect(page.body).not.toContain('s3cr3t')
    expect(standin.record.count).toBe(0)
  })

  it('escapes the path it names: markup in the request target stays text', async () => {
    const connection = await RawConnection.open(proxy.proxyUrl)
    connection.write(
      `GET /jars/"><img/src=x/onerror=alert(1)> HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ${VIEWER}\r\n` +
        `Accept: text/html\r\nSec-Fetch-Mode: navigate\r\nConnection: close\r\n\r\n`,
    )
    const response = await connection.readResponse()
    connection.close()
    expect(response.status).toBeGreaterThanOrEqual(400)
    expect(response.headers['content-type']).toBe('text/html; charset=utf-8')
    expect(response.body).not.toContain('<img')
    expect(response.body).toContain('&quot;&gt;&lt;img/src=x/onerror=alert(1)&gt;')
    expect(standin.record.count).toBe(0)
  })

  it('without credentials says so, and still challenges for Basic', async () => {
    const page = await get('/jars', NAVIGATION)
    expect(page.status).toBe(401)
    expect(page.headers['www-authenticate']).toMatch(/^Basic /)
    expect(page.body).toContain('You are not signed in.')
  })
})

describe('the same refusal to a script', () => {
  it.each([
    ['the dashboard (XHR)', { accept: 'application/json, text/plain, */*', 'sec-fetch-mode': 'cors' }],
    ['an old XHR', { accept: 'text/html', 'x-requested-with': 'XMLHttpRequest' }],
    ['curl or the CLI', { accept: '*/*' }],
  ])("is Flink's JSON error for %s", async (_who, headers) => {
    const answer = await get('/jars', { ...headers, authorization: VIEWER })
    expect(answer.status).toBe(403)
    expect(answer.headers['content-type']).toBe('application/json; charset=utf-8')
    expect(Object.keys(JSON.parse(answer.body))).toEqual(['errors'])
  })
})
