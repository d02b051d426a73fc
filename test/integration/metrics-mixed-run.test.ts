import { mkdtempSync, writeFileSync } from 'node:fs'
import { request as httpsRequest } from 'node:https'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { hashSync } from '@node-rs/bcrypt'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Standin, startStandin } from '../../src/standin/server.js'
import { startProxy, type TestProxy } from './support/proxy.js'
import { fixture, httpsGet, readFixture } from './support/tls-client.js'

/**
 * Issue 7's "mixed run": one TLS proxy with basic auth in front of the stand-in sees an allowed request, a
 * denied one, two failed authentications, a failed handshake, a reload and an upstream that went away; the
 * scrape afterwards must show every series with the labels an operator would query by.
 */

const PASSWORD = 'mixed-run password'
const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`

let standin: Standin
let proxy: TestProxy
let port: number
let jobId: string
let scrape: string

/** One request over a fresh TLS connection that verifies the proxy's certificate; resolves with the status. */
function send(method: string, path: string, authorization?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const outgoing = httpsRequest(
      {
        host: '127.0.0.1',
        servername: 'localhost',
        port,
        method,
        path,
        ca: readFixture('ca.pem'),
        agent: false,
        headers: authorization === undefined ? {} : { authorization },
      },
      (response) => {
        response.resume()
        response.on('end', () => resolve(response.statusCode ?? 0))
      },
    )
    outgoing.on('error', reject)
    outgoing.end()
  })
}

beforeAll(async () => {
  standin = await startStandin()
  const jobs = (await (await request(`${standin.url}/jobs`)).body.json()) as { jobs: { id: string }[] }
  jobId = jobs.jobs[0]!.id
  const htpasswd = join(mkdtempSync(join(tmpdir(), 'fg-metrics-')), 'users.htpasswd')
  writeFileSync(htpasswd, `alice:${hashSync(PASSWORD, 5)}\n`)
  proxy = await startProxy(standin.url, {
    tls: { cert: fixture('rest.signed.pem'), key: fixture('rest.signed.pem') },
    auth: { basic: { htpasswd, users: { alice: ['flink-viewers'] } } },
    authz: { roles: { 'flink-viewers': 'viewer' } },
  })
  port = Number(new URL(proxy.proxyUrl).port)
  const alice = basic('alice', PASSWORD)

  expect(await send('GET', '/overview', alice)).toBe(200)
  expect(await send('PATCH', `/jobs/${jobId}`, alice)).toBe(403)
  expect(await send('GET', '/overview', basic('alice', 'wrong'))).toBe(401)
  expect(await send('GET', '/overview')).toBe(401)
  // A client that offers only TLS 1.1 fails the handshake (the listener's floor is TLS 1.2).
  await expect(
    httpsGet(`https://localhost:${port}/overview`, { ca: readFixture('ca.pem'), maxVersion: 'TLSv1.1' }),
  ).rejects.toThrow()
  expect(proxy.reloadTls!()).toBe(true)
  await standin.close()
  expect(await send('GET', '/overview', alice)).toBe(503)

  const response = await request(`${proxy.adminUrl}/metrics`)
  scrape = await response.body.text()
})
afterAll(async () => {
  await proxy.close(1_000)
})

describe('the /metrics scrape after a mixed run', () => {
  it('counts requests by route template, method and status: allowed, denied, refused, upstream down', () => {
    expect(scrape).toContain('flink_guard_requests_total{route="/overview",method="GET",status="200"} 1')
    expect(scrape).toContain('flink_guard_requests_total{route="/jobs/:jobid",method="PATCH",status="403"} 1')
    expect(scrape).toContain('flink_guard_requests_total{route="/overview",method="GET",status="401"} 2')
    expect(scrape).toContain('flink_guard_requests_total{route="/overview",method="GET",status="503"} 1')
    expect(scrape).not.toContain(jobId)
  })

  it('counts the refused credential by method and reason, the missing one as none/missing', () => {
    expect(scrape).toContain('flink_guard_auth_failures_total{method="basic",reason="bad_password"} 1')
    expect(scrape).toContain('flink_guard_auth_failures_total{method="none",reason="missing"} 1')
  })

  it('counts the authorization denial by route and preset', () => {
    expect(scrape).toContain('flink_guard_authz_denied_total{route="/jobs/:jobid",preset="viewer"} 1')
  })

  it('counts the failed handshake by its OpenSSL reason', () => {
    expect(scrape).toMatch(/flink_guard_tls_handshake_errors_total\{reason="ERR_SSL_[A-Z_]+"\} 1/)
  })

  it("reports the certificate's seconds left by file, and the reload", () => {
    const expiry = /flink_guard_certificate_expiry_seconds\{file="([^"]+)"\} (\d+(?:\.\d+)?(?:e\+\d+)?)/.exec(
      scrape,
    )
    expect(expiry?.[1]).toBe(fixture('rest.signed.pem'))
    expect(Number(expiry?.[2])).toBeGreaterThan(86_400)
    expect(scrape).toContain('flink_guard_reloads_total{what="tls",result="success"} 1')
  })

  it('shows the upstream down and the upstream time only for requests Flink answered', () => {
    expect(scrape).toContain('flink_guard_upstream_up 0')
    expect(scrape).toMatch(/flink_guard_upstream_duration_seconds_count\{route="\/overview"\} 1\n/)
    expect(scrape).toMatch(
      /flink_guard_request_duration_seconds_count\{route="\/overview",method="GET"\} 4\n/,
    )
  })
})
