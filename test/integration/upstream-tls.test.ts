import { request } from 'undici'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { type Standin, startStandin } from '../../src/standin/server.js'
import { startProxy, type TestProxy } from './support/proxy.js'
import { fingerprintsOf, fixture, KEYSTORE_PASSWORD, readFixture } from './support/tls-client.js'

/** TLS to Flink (security.ssl.rest.enabled): the stand-in serves HTTPS with the CA-signed fixture. */

let flink: Standin
let mutualFlink: Standin
const running: TestProxy[] = []
beforeAll(async () => {
  const serverTls = { key: readFixture('rest.signed.pem'), cert: readFixture('rest.signed.pem') }
  flink = await startStandin({ https: serverTls })
  // security.ssl.rest.authentication-enabled: Flink wants a client certificate from the CA.
  mutualFlink = await startStandin({
    https: { ...serverTls, ca: readFixture('ca.pem'), requestCert: true, rejectUnauthorized: true },
  })
})
afterAll(async () => {
  await flink.close()
  await mutualFlink.close()
})
afterEach(async () => {
  await Promise.all(running.splice(0).map((proxy) => proxy.close(1_000)))
})

async function overviewThrough(upstream: Standin, tls: Record<string, unknown>) {
  const proxy = await startProxy(upstream.url, { upstream: { tls } })
  running.push(proxy)
  const response = await request(`${proxy.proxyUrl}/overview`)
  return {
    status: response.statusCode,
    refusal: response.headers['x-flink-guard-error'],
    body: (await response.body.json()) as Record<string, unknown>,
    proxy,
  }
}

describe('TLS to Flink', () => {
  it('forwards when Flink chains to the configured truststore', async () => {
    const { status, body } = await overviewThrough(flink, { truststore: fixture('ca.pem') })
    expect(status).toBe(200)
    expect(body).toHaveProperty('flink-version')
  })

  it.each([
    ['the system CAs only', {}],
    ['the wrong CA', { truststore: fixture('rest.pem') }],
    [
      'a host name the certificate does not carry',
      { truststore: fixture('ca.pem'), servername: 'flink.example' },
    ],
    [
      'a pin that does not match',
      { truststore: fixture('ca.pem'), pinnedFingerprints: [fingerprintsOf('client').sha256] },
    ],
  ])('answers 502 FG_ERR_UPSTREAM_TLS with %s, and logs the reason', async (_name, tls) => {
    const before = flink.record.count
    const { status, refusal, proxy } = await overviewThrough(flink, tls)
    expect(status).toBe(502)
    expect(refusal).toBe('FG_ERR_UPSTREAM_TLS')
    expect(flink.record.count).toBe(before)
    const line = proxy.logs.find((entry) => entry.code === 'FG_ERR_UPSTREAM_TLS')
    expect(String(line?.reason)).toMatch(/[A-Z_]{6,}: /)
  })

  it("accepts Flink's certificate by its pin (SHA-1 as Flink writes it) on top of the CA", async () => {
    const sha1 = fingerprintsOf('rest.signed').sha1.replace(/:/g, '').toLowerCase()
    expect(
      (await overviewThrough(flink, { truststore: fixture('ca.pem'), pinnedFingerprints: [sha1] })).status,
    ).toBe(200)
  })

  it('keeps the CA check but skips the name check with verifyHostname: false', async () => {
    const tls = { truststore: fixture('ca.pem'), servername: 'flink.example', verifyHostname: false }
    expect((await overviewThrough(flink, tls)).status).toBe(200)
    expect((await overviewThrough(flink, { ...tls, truststore: fixture('rest.pem') })).status).toBe(502)
  })

  it('presents the configured client certificate when Flink requires one, and fails clearly without it', async () => {
    const withCert = await overviewThrough(mutualFlink, {
      truststore: fixture('ca.truststore'),
      truststorePassword: 'rest_truststore_password',
      keystore: fixture('client.keystore'),
      keystorePassword: KEYSTORE_PASSWORD,
    })
    expect(withCert.status).toBe(200)
    const withoutCert = await overviewThrough(mutualFlink, { truststore: fixture('ca.pem') })
    expect(withoutCert.status).toBe(502)
  })
})

describe("Flink's SSL recipe (a certificate for myhost.company.org, ip:10.0.0.1) behind a loopback upstream URL", () => {
  let recipeFlink: Standin
  beforeAll(async () => {
    recipeFlink = await startStandin({
      https: { pfx: readFixture('rest.myhost.keystore'), passphrase: KEYSTORE_PASSWORD },
    })
  })
  afterAll(async () => {
    await recipeFlink.close()
  })
  const trust = {
    truststore: fixture('rest.myhost.truststore'),
    truststorePassword: 'rest_truststore_password',
  }

  it('answers 502 FG_ERR_UPSTREAM_TLS with a message that names upstream.tls.servername', async () => {
    const { status, refusal, body } = await overviewThrough(recipeFlink, trust)
    expect(status).toBe(502)
    expect(refusal).toBe('FG_ERR_UPSTREAM_TLS')
    expect(body.errors).toEqual([
      expect.stringMatching(
        /^The Flink REST endpoint's certificate does not name the host flink-guard connects to \(IP: 127\.0\.0\.1 is not in the cert's list: 10\.0\.0\.1\): set upstream\.tls\.servername/,
      ),
    ])
  })

  it('forwards with upstream.tls.servername set to the name in the certificate', async () => {
    const { status } = await overviewThrough(recipeFlink, { ...trust, servername: 'myhost.company.org' })
    expect(status).toBe(200)
  })
})
