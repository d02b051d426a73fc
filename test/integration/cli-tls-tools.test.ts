import { generateKeyPairSync, X509Certificate } from 'node:crypto'
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Standin, startStandin } from '../../src/standin/server.js'
import { parsePkcs12 } from '../../src/tls/pkcs12.js'
import { keyMaterialFromKeystore, trustAnchors } from '../../src/tls/stores.js'
import { assertBuilt, runCli } from './support/cli.js'
import { startProxy } from './support/proxy.js'
import { curl, fixture, httpsGet } from './support/tls-client.js'

beforeAll(assertBuilt)

describe('flink-guard gen-certs', () => {
  let standin: Standin
  let dir: string
  beforeAll(async () => {
    standin = await startStandin()
    dir = join(mkdtempSync(join(tmpdir(), 'fg-gencerts-')), 'certs')
    const result = await runCli([
      'gen-certs',
      '--out',
      dir,
      '--dns',
      'localhost,*.flink.example',
      '--ip',
      '127.0.0.1',
      '--password',
      'secret',
    ])
    expect(result.code).toBe(0)
  })
  afterAll(() => standin.close())

  it('makes certificates a TLS listener serves and curl verifies, SANs and wildcard included', async () => {
    const proxy = await startProxy(standin.url, {
      tls: {
        cert: join(dir, 'server.pem'),
        key: join(dir, 'server-key.pem'),
        truststore: join(dir, 'ca.pem'),
        clientAuth: 'request',
      },
    })
    try {
      const port = new URL(proxy.proxyUrl).port
      for (const host of ['localhost', 'jm.flink.example', '127.0.0.1']) {
        const result = await curl([
          '--cacert',
          join(dir, 'ca.pem'),
          '--resolve',
          `${host}:${port}:127.0.0.1`,
          `https://${host}:${port}/overview`,
        ])
        expect(result.code, host).toBe(0)
      }
      // The client certificate chains to the same CA.
      const mutual = await httpsGet(`https://localhost:${port}/overview`, {
        ca: readFileSync(join(dir, 'ca.pem')),
        cert: readFileSync(join(dir, 'client.pem')),
        key: readFileSync(join(dir, 'client-key.pem')),
      })
      expect(mutual.status).toBe(200)
    } finally {
      await proxy.close(1_000)
    }
  })

  it('writes PKCS12 keystores with the key and its chain, and keeps keys private', () => {
    const server = keyMaterialFromKeystore(readFileSync(join(dir, 'server.p12')), { password: 'secret' })
    expect(server.chain[0]!.subjectAltName).toBe('DNS:localhost, DNS:*.flink.example, IP Address:127.0.0.1')
    expect(
      server.chain[0]!.checkIssued(
        keyMaterialFromKeystore(readFileSync(join(dir, 'client.p12')), { password: 'secret' }).chain[0]!,
      ),
    ).toBe(false)
    for (const key of ['ca-key.pem', 'server-key.pem', 'client-key.pem', 'server.p12']) {
      expect(statSync(join(dir, key)).mode & 0o077, key).toBe(0)
    }
  })

  it('makes a PKCS12 truststore of the CA whose entry Java loads as trusted (security.ssl.rest.truststore)', () => {
    const entries = parsePkcs12(readFileSync(join(dir, 'ca.truststore.p12')), 'secret')
    expect(entries).toEqual([expect.objectContaining({ kind: 'cert', alias: 'ca', trusted: true })])
    const [anchor] = trustAnchors(readFileSync(join(dir, 'ca.truststore.p12')), 'secret')
    expect(anchor!.toString()).toBe(new X509Certificate(readFileSync(join(dir, 'ca.pem'))).toString())
    expect(() => trustAnchors(readFileSync(join(dir, 'ca.truststore.p12')), 'wrong')).toThrow(/password/)
  })

  it('refuses to replace the CA of an earlier run unless --force', async () => {
    const caBefore = readFileSync(join(dir, 'ca.pem'), 'utf8')
    const again = await runCli(['gen-certs', '--out', dir, '--password', 'secret'])
    expect(again.code).toBe(2)
    expect(again.stderr).toContain(`${join(dir, 'ca-key.pem')} exists: a new CA would not be trusted`)
    expect(readFileSync(join(dir, 'ca.pem'), 'utf8')).toBe(caBefore)
    const copy = join(mkdtempSync(join(tmpdir(), 'fg-gencerts-')), 'certs')
    expect((await runCli(['gen-certs', '--out', copy])).code).toBe(0)
    const firstCa = readFileSync(join(copy, 'ca.pem'), 'utf8')
    expect((await runCli(['gen-certs', '--out', copy, '--force'])).code).toBe(0)
    expect(readFileSync(join(copy, 'ca.pem'), 'utf8')).not.toBe(firstCa)
  })

  it.each(['bad name!', 'a..b', 'x.*.example', 'under_score.example', 'trailing-.example'])(
    'refuses --dns %j',
    async (name) => {
      const result = await runCli(['gen-certs', '--out', join(dir, 'x'), '--dns', name])
      expect(result.code).toBe(2)
      expect(result.stderr).toContain(`--dns must list DNS names`)
      expect(result.stderr).toContain(`got "${name}"`)
    },
  )

  it('refuses a bad --ip', async () => {
    const result = await runCli(['gen-certs', '--out', join(dir, 'x'), '--ip', 'localhost'])
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('--ip must list IP addresses, got "localhost"')
  })
})

describe('flink-guard fingerprint', () => {
  it.each([
    ['client.keystore', ['--password', 'rest_keystore_password']],
    ['client.pem', []],
  ])("prints %s's fingerprints exactly as keytool does", async (file, extra) => {
    const result = await runCli(['fingerprint', fixture(file), ...extra])
    expect(result.code).toBe(0)
    expect(result.stdout).toContain(readFileSync(fixture('client.fingerprints'), 'utf8').trim())
  })

  it('reads JKS and DER, and names a wrong password', async () => {
    const jks = await runCli([
      'fingerprint',
      fixture('rest.signed.jks'),
      '--password',
      'rest_keystore_password',
    ])
    expect(jks.stdout).toMatch(
      /Alias name: flink\.rest\nOwner: CN=localhost\nSHA1: ([0-9A-F]{2}:){19}[0-9A-F]{2}\n/,
    )
    const pkcs12 = await runCli([
      'fingerprint',
      fixture('rest.signed.keystore'),
      '--password',
      'rest_keystore_password',
    ])
    expect(pkcs12.stdout).toContain(readFileSync(fixture('rest.signed.fingerprints'), 'utf8').trim())
    expect((await runCli(['fingerprint', fixture('ca.cer')])).stdout).toMatch(/^Owner: CN=Sample CA\nSHA1: /)
    const none = await runCli(['fingerprint', fixture('client.keystore')])
    expect(none.code).toBe(2)
    expect(none.stderr.trim()).toBe(
      `flink-guard: ${fixture('client.keystore')} is a keystore protected by a password: give it with --password <password>`,
    )
    const wrong = await runCli(['fingerprint', fixture('client.keystore'), '--password', 'nope'])
    expect(wrong.code).toBe(2)
    expect(wrong.stderr.trim()).toBe(
      `flink-guard: ${fixture('client.keystore')}: the keystore password is wrong (or the file was altered)`,
    )
  })

  it('says a PEM file holding only a private key has no certificate, and exits non-zero', async () => {
    const keyOnly = join(mkdtempSync(join(tmpdir(), 'fg-fingerprint-')), 'key.pem')
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
    writeFileSync(keyOnly, privateKey.export({ format: 'pem', type: 'pkcs8' }))
    const result = await runCli(['fingerprint', keyOnly])
    expect(result.code).toBe(2)
    expect(result.stdout).toBe('')
    expect(result.stderr.trim()).toBe(
      `flink-guard: ${keyOnly}: holds no certificate (a private key alone has no fingerprint)`,
    )
  })
})
