import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect } from 'node:tls'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { type Standin, startStandin } from '../../src/standin/server.js'
import { eventually } from './support/eventually.js'
import { startProxy, type TestProxy } from './support/proxy.js'
import {
  curl,
  fingerprintsOf,
  fixture,
  handshakeAndSend,
  httpsGet,
  KEY_PASSWORD,
  KEYSTORE_PASSWORD,
  readFixture,
  TRUSTSTORE_PASSWORD,
} from './support/tls-client.js'

/**
 * The TLS listener with the keystores Flink's SSL docs make (test/fixtures/tls, made by keytool), clients
 * verifying certificates as the docs' curl lines do, and the stand-in's record as proof of what got through.
 */

let standin: Standin
const running: TestProxy[] = []
beforeAll(async () => {
  standin = await startStandin()
})
afterAll(() => standin.close())
beforeEach(() => standin.record.reset())
afterEach(async () => {
  await Promise.all(running.splice(0).map((proxy) => proxy.close(1_000)))
})

async function tlsProxy(
  tls: Record<string, unknown>,
  extra: Record<string, unknown> = {},
): Promise<TestProxy> {
  const proxy = await startProxy(standin.url, { tls, ...extra })
  running.push(proxy)
  return proxy
}
const portOf = (proxy: TestProxy) => Number(new URL(proxy.proxyUrl).port)

describe('server certificates from the seed recipes', () => {
  it.each([
    ['a self-signed PKCS12 keystore', { keystore: fixture('rest.keystore') }, 'rest.pem'],
    ['a CA-signed PKCS12 keystore', { keystore: fixture('rest.signed.keystore') }, 'ca.pem'],
    [
      'a CA-signed JKS keystore with its own key password',
      { keystore: fixture('rest.signed.jks'), keyPassword: KEY_PASSWORD },
      'ca.pem',
    ],
    ['an EC key', { keystore: fixture('rest.ec.keystore') }, 'ca.pem'],
    ['PEM files', { cert: fixture('rest.signed.pem'), key: fixture('rest.signed.pem') }, 'ca.pem'],
  ])('serves TLS from %s, and the docs curl line succeeds', async (_name, tls, cacert) => {
    const proxy = await tlsProxy({ keystorePassword: KEYSTORE_PASSWORD, ...tls })
    expect(proxy.proxyUrl).toMatch(/^https:/)
    const result = await curl(['--cacert', fixture(cacert), `https://localhost:${portOf(proxy)}/overview`])
    expect(result.stderr).toBe('')
    expect(JSON.parse(result.stdout)).toHaveProperty('flink-version')
    // And a Node client with verification on.
    const viaNode = await httpsGet(`https://localhost:${portOf(proxy)}/overview`, { ca: readFixture(cacert) })
    expect(viaNode.status).toBe(200)
    expect(standin.record.last?.headers['x-forwarded-proto']).toBe('https')
  })

  it('serves a wildcard certificate to a host name under it', async () => {
    const proxy = await tlsProxy({
      keystore: fixture('rest.wildcard.keystore'),
      keystorePassword: KEYSTORE_PASSWORD,
    })
    const port = portOf(proxy)
    const result = await curl([
      '--cacert',
      fixture('ca.pem'),
      '--resolve',
      `jm.flink.test:${port}:127.0.0.1`,
      `https://jm.flink.test:${port}/overview`,
    ])
    expect(result.code).toBe(0)
    const wrongName = await curl(['--cacert', fixture('ca.pem'), `https://localhost:${port}/overview`])
    expect(wrongName.code).toBe(60) // curl: peer certificate cannot be authenticated
  })

  it('sends HSTS over TLS', async () => {
    const proxy = await tlsProxy({
      keystore: fixture('rest.signed.keystore'),
      keystorePassword: KEYSTORE_PASSWORD,
    })
    const result = await curl([
      '-D',
      '-',
      '-o',
      '/dev/null',
      '--cacert',
      fixture('ca.pem'),
      `https://localhost:${portOf(proxy)}/overview`,
    ])
    expect(result.stdout).toMatch(/strict-transport-security: max-age=31536000/i)
  })

  it('takes headers up to 32 KiB over TLS as over HTTP (Node alone would stop at 16 KiB), and 431 above', async () => {
    // A viewer's cancel: the proxy itself answers (403) once it has read the headers, so Flink's own header
    // limit stays out of the picture.
    const proxy = await tlsProxy(
      { keystore: fixture('rest.signed.keystore'), keystorePassword: KEYSTORE_PASSWORD },
      { authz: { roles: { tester: 'viewer' } } },
    )
    const withHeader = async (bytes: number) => {
      const result = await curl([
        '-s',
        '-i',
        '-X',
        'PATCH',
        '--cacert',
        fixture('ca.pem'),
        '-H',
        `X-Big: ${'a'.repeat(bytes)}`,
        `https://localhost:${portOf(proxy)}/jobs/00000000000000000000000000000000`,
      ])
      return /^x-flink-guard-error: (\S+)/im.exec(result.stdout)?.[1]
    }
    expect(await withHeader(24_000)).toBe('FG_ERR_AUTHZ_PRESET_INSUFFICIENT')
    expect(await withHeader(40_000)).toBe('FG_ERR_REQUEST_HEADERS_TOO_LARGE')
    // And a jar upload over TLS has no whole-request deadline (Node's default would cut it at 300 s).
    expect((proxy.proxy.server as import('node:https').Server).requestTimeout).toBe(0)
    expect((proxy.proxy.server as import('node:https').Server).headersTimeout).toBe(30_000)
  })
})

describe('session resumption', () => {
  /** Two connections in a row, the second offering the first's session ticket: was it resumed? */
  async function resumedOnReconnect(port: number, maxVersion: 'TLSv1.2' | 'TLSv1.3'): Promise<boolean> {
    const once = (session?: Buffer) =>
      new Promise<{ reused: boolean; session: Buffer | undefined }>((resolve, reject) => {
        let ticket: Buffer | undefined
        let reused = false
        const socket = connect(
          {
            host: '127.0.0.1',
            port,
            servername: 'localhost',
            ca: readFixture('ca.pem'),
            maxVersion,
            session,
          },
          () => {
            // Asked now: once closed, the socket no longer knows.
            reused = socket.isSessionReused()
            socket.end('GET /config HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n')
          },
        )
        socket.on('session', (value: Buffer) => {
          ticket = value
        })
        socket.on('error', reject)
        socket.resume()
        socket.on('close', () => resolve({ reused, session: ticket }))
      })
    const first = await once()
    expect(first.reused).toBe(false)
    return (await once(first.session)).reused
  }

  it.each(['TLSv1.2', 'TLSv1.3'] as const)(
    'resumes %s sessions by default, and never with tls.sessionTickets: false',
    async (version) => {
      const tls = { keystore: fixture('rest.signed.keystore'), keystorePassword: KEYSTORE_PASSWORD }
      expect(await resumedOnReconnect(portOf(await tlsProxy(tls)), version)).toBe(true)
      const fullOnly = await tlsProxy({ ...tls, sessionTickets: false })
      expect(await resumedOnReconnect(portOf(fullOnly), version)).toBe(false)
    },
  )
})

describe('start-up refusals: one line naming the key and the file', () => {
  it.each([
    [
      'a wrong store password',
      { keystore: fixture('rest.signed.keystore'), keystorePassword: 'wrong' },
      /"tls.keystore" .*rest\.signed\.keystore: the keystore password is wrong/,
    ],
    [
      'a wrong JKS store password',
      { keystore: fixture('rest.signed.jks'), keystorePassword: 'wrong' },
      /"tls.keystore" .*rest\.signed\.jks: the keystore password is wrong/,
    ],
    [
      'a wrong key password',
      { keystore: fixture('rest.signed.jks'), keystorePassword: KEYSTORE_PASSWORD, keyPassword: 'wrong' },
      /"tls.keystore" .*: the key password is wrong/,
    ],
    [
      'a corrupt keystore',
      { keystore: fixture('corrupt.keystore'), keystorePassword: KEYSTORE_PASSWORD },
      /"tls.keystore" .*corrupt\.keystore: /,
    ],
    [
      'a missing keystore',
      { keystore: '/nonexistent/rest.keystore', keystorePassword: KEYSTORE_PASSWORD },
      /"tls.keystore" \/nonexistent\/rest\.keystore: cannot read \(ENOENT\)/,
    ],
    [
      'an empty truststore',
      {
        keystore: fixture('rest.signed.keystore'),
        keystorePassword: KEYSTORE_PASSWORD,
        truststore: fixture('empty.pem'),
        clientAuth: 'require',
      },
      /"tls.truststore" .*empty\.pem: the truststore file is empty/,
    ],
    [
      'a keystore without its alias',
      { keystore: fixture('rest.signed.keystore'), keystorePassword: KEYSTORE_PASSWORD, keyAlias: 'nope' },
      /no key entry "nope"; the keystore has "flink\.rest"/,
    ],
  ])('refuses %s with FG_ERR_TLS_MATERIAL', async (_name, tls, message) => {
    const failure = await startProxy(standin.url, { tls }).then(
      async (proxy) => {
        await proxy.close(100)
        return null
      },
      (err: { code: string; message: string }) => err,
    )
    expect(failure?.code).toBe('FG_ERR_TLS_MATERIAL')
    expect(failure?.message).toMatch(message)
    expect(failure?.message).not.toContain('\n')
  })

  it.each([
    [
      'a malformed fingerprint',
      { pinnedFingerprints: ['AB:CD:XY'], clientAuth: 'require', truststore: fixture('ca.pem') },
      '"tls.pinnedFingerprints[0]" must be a SHA-1 or SHA-256 fingerprint',
    ],
    [
      'a fingerprint of the wrong length',
      { pinnedFingerprints: ['AB:CD'], clientAuth: 'require', truststore: fixture('ca.pem') },
      '"tls.pinnedFingerprints[0]" must have 40 (SHA-1) or 64 (SHA-256) hex digits, got 4',
    ],
    [
      'an unknown cipher name',
      { ciphers: 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,TLS_BOGUS_WITH_NOTHING' },
      '"tls.ciphers" names unknown cipher suites: TLS_BOGUS_WITH_NOTHING',
    ],
    [
      'client auth without a truststore',
      { clientAuth: 'require' },
      '"tls.clientAuth: require" needs "tls.truststore"',
    ],
  ])('refuses %s as a config error naming it', async (_name, extra, message) => {
    const tls = { keystore: fixture('rest.signed.keystore'), keystorePassword: KEYSTORE_PASSWORD, ...extra }
    await expect(startProxy(standin.url, { tls })).rejects.toMatchObject({
      code: 'FG_ERR_CONFIG_INVALID',
      message: expect.stringContaining(message),
    })
  })
})

describe('ciphers', () => {
  const FLINK_RECOMMENDED =
    'TLS_DHE_RSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,TLS_DHE_RSA_WITH_AES_256_GCM_SHA384,TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384'

  it("accepts Flink's recommended list by its Java names and negotiates a DHE suite from it", async () => {
    const proxy = await tlsProxy({
      keystore: fixture('rest.signed.keystore'),
      keystorePassword: KEYSTORE_PASSWORD,
      ciphers: FLINK_RECOMMENDED,
    })
    const url = `https://localhost:${portOf(proxy)}/overview`
    const dhe = await httpsGet(url, {
      ca: readFixture('ca.pem'),
      maxVersion: 'TLSv1.2',
      ciphers: 'DHE-RSA-AES128-GCM-SHA256',
    })
    expect(dhe.status).toBe(200)
    expect(dhe.cipher).toBe('DHE-RSA-AES128-GCM-SHA256')
    const ecdhe = await httpsGet(url, {
      ca: readFixture('ca.pem'),
      maxVersion: 'TLSv1.2',
      ciphers: 'ECDHE-RSA-AES256-GCM-SHA384',
    })
    expect(ecdhe.cipher).toBe('ECDHE-RSA-AES256-GCM-SHA384')
    // A suite outside the list is refused at the handshake.
    await expect(
      httpsGet(url, { ca: readFixture('ca.pem'), maxVersion: 'TLSv1.2', ciphers: 'ECDHE-RSA-AES128-SHA256' }),
    ).rejects.toThrow()
  })

  it('speaks exactly TLS 1.2 with maxVersion: TLSv1.2 (security.ssl.protocol: TLSv1.2 from flinkConf)', async () => {
    const proxy = await tlsProxy({
      keystore: fixture('rest.signed.keystore'),
      keystorePassword: KEYSTORE_PASSWORD,
      maxVersion: 'TLSv1.2',
    })
    const url = `https://localhost:${portOf(proxy)}/overview`
    await expect(httpsGet(url, { ca: readFixture('ca.pem'), minVersion: 'TLSv1.3' })).rejects.toThrow()
    expect((await httpsGet(url, { ca: readFixture('ca.pem'), maxVersion: 'TLSv1.2' })).status).toBe(200)
  })

  it('refuses TLS 1.1 by default', async () => {
    const proxy = await tlsProxy({
      keystore: fixture('rest.signed.keystore'),
      keystorePassword: KEYSTORE_PASSWORD,
    })
    await expect(
      httpsGet(`https://localhost:${portOf(proxy)}/overview`, {
        ca: readFixture('ca.pem'),
        maxVersion: 'TLSv1.1',
        minVersion: 'TLSv1',
      }),
    ).rejects.toThrow()
  })
})

describe('mutual TLS with a pinned SHA-1 fingerprint', () => {
  const RAW_GET = 'GET /overview HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n'
  const client = (name: string) => ({
    ca: readFixture('ca.pem'),
    cert: readFixture(`${name}.pem`),
    key: readFixture(`${name}.pem`),
    servername: 'localhost',
  })
  let proxy: TestProxy

  beforeEach(async () => {
    // Flink's format: hex with colons, as keytool prints it, here in lower case to show case does not matter.
    const pin = fingerprintsOf('client').sha1.toLowerCase()
    proxy = await tlsProxy(
      {
        keystore: fixture('rest.signed.keystore'),
        keystorePassword: KEYSTORE_PASSWORD,
        truststore: fixture('ca.truststore'),
        truststorePassword: TRUSTSTORE_PASSWORD,
        clientAuth: 'require',
        pinnedFingerprints: [pin],
      },
      { auth: { mtls: {} }, authz: { roles: { deployers: 'deployer' } } },
    )
  })

  it('lets the pinned client through, identified by its certificate', async () => {
    const result = await curl([
      '--cacert',
      fixture('ca.pem'),
      '--cert',
      fixture('client.pem'),
      `https://localhost:${portOf(proxy)}/overview`,
    ])
    expect(result.code).toBe(0)
    expect(JSON.parse(result.stdout)).toHaveProperty('flink-version')
    expect(standin.record.count).toBe(1)
    const access = proxy.logs.find((line) => line.msg === 'request completed')
    expect(access).toBeDefined()
  })

  it('cuts a client signed by the same CA but not pinned at the handshake: nothing reaches Flink', async () => {
    const answer = await handshakeAndSend(portOf(proxy), client('client.other'), RAW_GET)
    expect(answer).toBe('')
    const viaCurl = await curl([
      '--cacert',
      fixture('ca.pem'),
      '--cert',
      fixture('client.other.pem'),
      `https://localhost:${portOf(proxy)}/overview`,
    ])
    expect(viaCurl.code).not.toBe(0)
    expect(standin.record.count).toBe(0)
    await eventually(() =>
      proxy.logs.some((line) => line.msg === 'client certificate not pinned: connection closed'),
    )
  })

  it.each([
    ['from another CA', 'client.foreign'],
    ['that has expired', 'client.expired'],
  ])('refuses a client certificate %s at the handshake', async (_name, name) => {
    expect(await handshakeAndSend(portOf(proxy), client(name), RAW_GET)).toBe('')
    expect(standin.record.count).toBe(0)
  })

  it('refuses a client without a certificate when client auth is required', async () => {
    const result = await curl(['--cacert', fixture('ca.pem'), `https://localhost:${portOf(proxy)}/overview`])
    expect(result.code).not.toBe(0)
    expect(standin.record.count).toBe(0)
  })
})

describe('hot reload', () => {
  it('serves a replaced certificate to new connections, and keeps the old one when the new file is garbage', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fg-reload-'))
    const keystore = join(dir, 'rest.keystore')
    copyFileSync(fixture('rest.keystore'), keystore)
    const proxy = await tlsProxy({ keystore, keystorePassword: KEYSTORE_PASSWORD })
    const url = `https://localhost:${portOf(proxy)}/overview`
    expect((await httpsGet(url, { ca: readFixture('rest.pem') })).status).toBe(200)

    // Replaced by a certificate signed by the CA: new connections get it within the settle time.
    copyFileSync(fixture('rest.signed.keystore'), `${keystore}.tmp`)
    copyFileSync(`${keystore}.tmp`, keystore)
    await eventually(() => proxy.logs.some((line) => line.msg === 'TLS certificate reloaded'), 2_000)
    expect((await httpsGet(url, { ca: readFixture('ca.pem') })).status).toBe(200)
    await expect(httpsGet(url, { ca: readFixture('rest.pem') })).rejects.toThrow()

    // Garbage: the previous certificate stays, and the error names the file.
    writeFileSync(keystore, 'not a keystore')
    await eventually(
      () =>
        proxy.logs.some((line) => line.msg === 'TLS reload failed: the previous certificate stays in use'),
      2_000,
    )
    const failure = proxy.logs.find(
      (line) => line.msg === 'TLS reload failed: the previous certificate stays in use',
    )
    expect(String(failure?.reason)).toContain(keystore)
    expect((await httpsGet(url, { ca: readFixture('ca.pem') })).status).toBe(200)
  })
})
