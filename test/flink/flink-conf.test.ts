import { execFileSync } from 'node:child_process'
import { X509Certificate } from 'node:crypto'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { connect } from 'node:tls'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type FlinkRest, readFlinkConf, resolveFlinkRest } from '../../src/config/flink-conf.js'
import { validateConfig } from '../../src/config/load.js'
import { createLogger } from '../../src/observability/logger.js'
import { type RunningServer, startServer } from '../../src/server.js'
import { keyMaterialFromKeystore } from '../../src/tls/stores.js'
import { freePort } from '../integration/support/free-port.js'
import { buildFlinkIt, type FlinkCluster, startFlinkCluster } from './support/flink.js'
import { flinkCliIn } from './support/flink-cli.js'

/**
 * flinkConf against real Flink: what flink-guard reads from a conf directory is what Flink's own
 * GlobalConfiguration, RestOptions and SSLUtils read from it (flinkguard.it.ConfProbe), and a real JobManager
 * started from that directory listens where flinkConf points and takes the TLS flinkConf derives.
 */

const build = buildFlinkIt()
const LINE = build.version.startsWith('1.') ? '1.x' : '2.x'

/** Flink's reading of each directory, from Flink's own classes. */
function flinkReads(dirs: readonly string[]): Record<string, unknown>[] {
  const out = execFileSync(
    'java',
    ['-cp', `${build.classpath}:${build.jobJar}`, 'flinkguard.it.ConfProbe', ...dirs],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
  )
  return out
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
}

const KEYS = [
  'restAddress',
  'bindAddress',
  'bindPorts',
  'restSsl',
  'mutual',
  'keystore',
  'keystorePassword',
  'keyPassword',
  'truststore',
  'truststorePassword',
  'fingerprint',
  'protocols',
  'ciphers',
  'verifyHostname',
] as const satisfies readonly (keyof FlinkRest)[]

function differences(ours: FlinkRest, flinks: Record<string, unknown>): string[] {
  return KEYS.filter((key) => JSON.stringify(ours[key]) !== JSON.stringify(flinks[key]))
}

function dirWith(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'fg-flinkconf-it-'))
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text)
  return dir
}

interface Case {
  readonly name: string
  readonly files: Record<string, string>
  /** Keys where flink-guard's reading knowingly differs from this Flink line's, and why. */
  readonly differs?: Partial<Record<'1.x' | '2.x', readonly (keyof FlinkRest)[]>>
  /** Flink of this line refuses to load the directory. */
  readonly refused?: '2.x'
}

const CASES: readonly Case[] = [
  {
    name: 'flink-conf.yaml with the legacy parser quirks and the security.ssl.* fallbacks',
    files: {
      'flink-conf.yaml': [
        '# a comment line',
        'rest.port: 8090',
        'web.address: 127.0.0.2',
        'jobmanager.rpc.address:skipped-without-space',
        'jobmanager.rpc.address: jm.example   # trailing comment',
        'security.ssl.enabled: true',
        'security.ssl.keystore: /k.p12',
        'security.ssl.keystore-password: "quoted#hash"',
        'security.ssl.key-password: ',
        'security.ssl.truststore: /t.p12',
        'security.ssl.truststore-password: tp',
        'security.ssl.rest.cert.fingerprint: aa:bb, cc',
        'security.ssl.algorithms: TLS_A, TLS_B',
        'security.ssl.protocol: TLSv1.2,TLSv1.3',
        'security.ssl.rest.verify-hostname: true',
        '',
      ].join('\n'),
    },
    // 2.x reads config.yaml only, and there is none.
    refused: '2.x',
  },
  {
    name: 'config.yaml with nesting, lists, a port range and REST keys beside the general ones',
    files: {
      'config.yaml': [
        'rest:',
        '  bind-port: 50100-50200',
        'jobmanager:',
        '  rpc:',
        '    address: jm.example',
        '  web:',
        '    address: 127.0.0.3',
        'security:',
        '  ssl:',
        '    enabled: true',
        '    algorithms: [TLS_A, TLS_B]',
        '    protocol: TLSv1.3',
        '    keystore: /general.p12',
        '    keystore-password: generalpass',
        '    key-password: keyp',
        '    rest:',
        '      authentication-enabled: true',
        '      verify-hostname: true',
        '      keystore: /rest.p12',
        '      keystore-password: restpass',
        '      cert:',
        '        fingerprint: AA:BB',
        '',
      ].join('\n'),
    },
    differs: {
      // flink-guard honours 2.x's name check from a config.yaml; 1.x's REST client has none (stricter here).
      '1.x': ['verifyHostname'],
      // flink-guard follows 1.x's security.ssl.enabled fallback, with a warning.
      '2.x': ['restSsl', 'mutual'],
    },
  },
  {
    name: 'both files',
    files: { 'config.yaml': 'rest.port: 8091\n', 'flink-conf.yaml': 'rest.port: 8092\n' },
    // flink-guard reads flink-conf.yaml, as 1.x, and warns; 2.x reads config.yaml (checked below).
    differs: { '2.x': ['bindPorts'] },
  },
  {
    name: 'deprecated port and address keys',
    files: {
      'config.yaml':
        'web.port: 8093\njobmanager.web.address: 127.0.0.4\nsecurity.ssl.rest.enabled: true\nsecurity.ssl.rest.truststore: /rest-t.p12\nsecurity.ssl.truststore: /t.p12\nsecurity.ssl.truststore-password: tp\n',
    },
  },
  { name: 'an empty config.yaml: the defaults', files: { 'config.yaml': '{}\n' } },
]

describe(`flinkConf reads a conf directory as Flink ${build.version} does`, () => {
  const dirs = CASES.map((entry) => dirWith(entry.files))
  const flinks = flinkReads(dirs)

  it.each(CASES.map((entry, index) => [entry.name, entry, index] as const))('%s', (_, entry, index) => {
    const flink = flinks[index]!
    if (entry.refused === LINE) {
      expect(flink.error).toMatch(/does not exist/)
      return
    }
    expect(flink.error).toBeUndefined()
    const ours = resolveFlinkRest(readFlinkConf(dirs[index]!))
    expect(differences(ours, flink)).toEqual(entry.differs?.[LINE] ?? [])
    if ((entry.differs?.[LINE] ?? []).some((key) => key !== 'verifyHostname')) {
      expect(ours.warnings).not.toEqual([])
    }
  })

  it('reads the file a 2.x Flink reads when flinkConf names it', () => {
    const index = CASES.findIndex((entry) => entry.name === 'both files')
    const named = resolveFlinkRest(readFlinkConf(join(dirs[index]!, 'config.yaml')))
    expect(named.bindPorts).toEqual(LINE === '2.x' ? flinks[index]!.bindPorts : [8091])
  })
})

const KS = 'rest_keystore_password'
const TS = 'rest_truststore_password'

const keytool = (...args: string[]) => execFileSync('keytool', args, { stdio: 'ignore' })

interface Pem {
  readonly cert: string
  readonly key: string
}

/**
 * Flink's SSL documentation's recipe: a self-signed REST certificate (for a host name the proxy never
 * uses) in a PKCS12 keystore, exported into a truststore.
 */
function flinkDocsKeystore(): { keystore: string; truststore: string; cer: string; sha1: string; pem: Pem } {
  const dir = mkdtempSync(join(tmpdir(), 'fg-flink-ssl-'))
  const keystore = join(dir, 'rest.keystore')
  const truststore = join(dir, 'rest.truststore')
  const cer = join(dir, 'flink.cer')
  keytool(
    '-genkeypair',
    '-alias',
    'flink.rest',
    '-keystore',
    keystore,
    '-dname',
    'CN=myhost.company.org',
    '-ext',
    'SAN=dns:myhost.company.org,ip:10.0.0.1',
    '-storepass',
    KS,
    '-keypass',
    KS,
    '-keyalg',
    'RSA',
    '-keysize',
    '2048',
    '-storetype',
    'PKCS12',
  )
  keytool('-exportcert', '-keystore', keystore, '-alias', 'flink.rest', '-storepass', KS, '-file', cer)
  trustAlso(truststore, cer, 'flink.rest')
  const material = keyMaterialFromKeystore(readFileSync(keystore), { password: KS })
  const pem = {
    cert: material.chain.map((cert) => cert.toString()).join(''),
    key: material.key.export({ format: 'pem', type: 'pkcs8' }).toString(),
  }
  return { keystore, truststore, cer, sha1: new X509Certificate(readFileSync(cer)).fingerprint, pem }
}

function trustAlso(truststore: string, cer: string, alias: string): void {
  keytool(
    '-importcert',
    '-keystore',
    truststore,
    '-alias',
    alias,
    '-storepass',
    TS,
    '-file',
    cer,
    '-noprompt',
  )
}

/**
 * TLS options of a client presenting `client` that trusts the self-signed `server` certificate and, like
 * Flink's REST client, checks no host name (the certificate names myhost.company.org).
 */
const clientTls = (client: Pem, server: Pem) => ({
  ...client,
  ca: server.cert,
  checkServerIdentity: () => undefined,
})

const quiet = () =>
  new Writable({
    write(_chunk, _encoding, callback) {
      callback()
    },
  })

/** The proxy from a config whose Flink side comes from flinkConf alone. */
function proxyConfig(flinkConf: string, extra: Record<string, unknown> = {}) {
  return validateConfig(
    {
      flinkConf,
      listen: { port: 0 },
      admin: { port: 0 },
      auth: { anonymous: { roles: ['anyone'] } },
      authz: { roles: { anyone: 'viewer' } },
      ...extra,
    },
    'test',
    {},
  )
}

/** Whether a TLS 1.2 handshake offering only `ciphers` completes. */
function handshake(port: number, ciphers: string, tls: ReturnType<typeof clientTls>): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, ciphers, maxVersion: 'TLSv1.2', ...tls })
    socket.once('secureConnect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}

describe(`flinkConf against a real Flink ${build.version} started from the same conf directory`, () => {
  const ssl = flinkDocsKeystore()
  // A second certificate in Flink's truststore, not pinned: only the pin keeps it out.
  const stranger = flinkDocsKeystore()
  trustAlso(ssl.truststore, stranger.cer, 'stranger')
  const tls = clientTls(ssl.pem, ssl.pem)
  let flink: FlinkCluster
  let proxy: RunningServer
  let bindPort: number
  let warnings: readonly string[]
  let upstream: { url: string; tls: Record<string, unknown> }

  beforeAll(async () => {
    bindPort = await freePort()
    // The keys a sidecar's Flink has, each through a fallback: the key material only under security.ssl.*,
    // the bind address under web.address, and rest.bind-port apart from rest.port.
    const config = {
      'rest.address': undefined,
      'rest.bind-address': undefined,
      'web.address': '127.0.0.1',
      'rest.bind-port': bindPort,
      'security.ssl.rest.enabled': true,
      'security.ssl.rest.authentication-enabled': true,
      'security.ssl.keystore': ssl.keystore,
      'security.ssl.keystore-password': KS,
      'security.ssl.key-password': KS,
      'security.ssl.truststore': ssl.truststore,
      'security.ssl.truststore-password': TS,
      'security.ssl.rest.cert.fingerprint': ssl.sha1,
    }
    // 1.x: Flink reads flink-conf.yaml over the config.yaml beside it, which would point elsewhere.
    flink = await startFlinkCluster({
      config,
      taskManager: false,
      clientCert: ssl.pem,
      ...(LINE === '1.x'
        ? { file: 'flink-conf.yaml', files: { 'config.yaml': 'rest.bind-port: 1\n' } }
        : { files: { 'flink-conf.yaml': 'rest.bind-port: 1\n' } }),
    })
    // 2.x reads config.yaml alone: flinkConf is pointed at it, as the both-files warning says.
    const loaded = proxyConfig(LINE === '1.x' ? flink.confDir : join(flink.confDir, 'config.yaml'))
    warnings = loaded.warnings
    upstream = loaded.config.upstream as unknown as typeof upstream
    proxy = await startServer(loaded.config, createLogger('warn', quiet()))
  })

  afterAll(async () => {
    await proxy?.close(0)
    await flink?.stop()
  })

  it('points upstream.url where Flink says its REST endpoint listens (rest.bind-port, not rest.port)', () => {
    expect(flink.restPort).toBe(bindPort)
    expect(upstream.url).toBe(flink.restUrl)
    expect(upstream.tls).toMatchObject({
      truststore: ssl.truststore,
      keystore: ssl.keystore,
      pinnedFingerprints: [`sha1:${ssl.sha1.replace(/:/g, '')}`],
      // Flink's REST client checks no names; the certificate names myhost.company.org, not 127.0.0.1.
      verifyHostname: false,
    })
    expect(warnings).toEqual(LINE === '1.x' ? [expect.stringContaining('holds both')] : [])
  })

  it("reaches Flink with the derived TLS: Flink's truststore, the pin, the client certificate Flink demands", async () => {
    const response = await fetchVia(proxy.proxyUrl, '/v1/overview', tls)
    expect(response.status).toBe(200)
    expect(JSON.parse(response.body)).toHaveProperty('flink-version', build.version)
  })

  it("lets the real Flink CLI, with Flink's own conf directory, through the proxy as it went to Flink", async () => {
    const cli = flinkCliIn(build, flink.confDir)
    const direct = await cli.run(['list', '-m', flink.restUrl])
    expect(direct.stdout + direct.stderr).toContain('No running jobs')
    const viaProxy = await cli.run(['list', '-m', proxy.proxyUrl])
    expect(viaProxy.code, viaProxy.stdout + viaProxy.stderr).toBe(0)
    expect(viaProxy.stdout).toContain('No running jobs')
  })

  it.each([
    ["one of Flink's default suites", 'ECDHE-RSA-AES128-GCM-SHA256', true],
    ['a suite outside security.ssl.algorithms', 'ECDHE-RSA-CHACHA20-POLY1305', false],
  ])('answers a TLS 1.2 client offering %s as Flink does', async (_, ciphers, accepted) => {
    expect(await handshake(flink.restPort, ciphers, tls)).toBe(accepted)
    expect(await handshake(Number(new URL(proxy.proxyUrl).port), ciphers, tls)).toBe(accepted)
  })

  it('refuses, as Flink does, a client whose certificate the truststore holds but the pin does not', async () => {
    const unpinned = clientTls(stranger.pem, ssl.pem)
    await expect(fetchVia(flink.restUrl, '/v1/overview', unpinned)).rejects.toThrow()
    await expect(fetchVia(proxy.proxyUrl, '/v1/overview', unpinned)).rejects.toThrow()
  })
})

describe(`flinkConf and a rest.bind-port range on a real Flink ${build.version}`, () => {
  let flink: FlinkCluster
  const held = createServer()
  let first: number

  beforeAll(async () => {
    first = await freePort()
    await new Promise<void>((resolve) => held.listen(first, '127.0.0.1', resolve))
    flink = await startFlinkCluster({
      taskManager: false,
      config: { 'rest.bind-port': `${first}-${first + 20}` },
    })
  })

  afterAll(async () => {
    await flink?.stop()
    await new Promise((resolve) => held.close(resolve))
  })

  it('refuses to guess: Flink took another port of the range than the first', () => {
    expect(flink.restPort).toBeGreaterThan(first)
    expect(flink.restPort).toBeLessThanOrEqual(first + 20)
    expect(() => proxyConfig(flink.confDir)).toThrow(/flink-guard cannot know\. Set upstream\.url/)
    const given = proxyConfig(flink.confDir, { upstream: { url: flink.restUrl } })
    expect(given.config.upstream!.url).toBe(flink.restUrl)
  })
})

/** One GET over a fresh TLS connection. */
async function fetchVia(
  base: string,
  path: string,
  tls: ReturnType<typeof clientTls>,
): Promise<{ status: number; body: string }> {
  const { request, Agent } = await import('undici')
  const dispatcher = new Agent({ connect: tls })
  try {
    const response = await request(`${base}${path}`, { dispatcher })
    return { status: response.statusCode, body: await response.body.text() }
  } finally {
    await dispatcher.close()
  }
}
