import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { portRange, readFlinkConf, resolveFlinkRest } from '../../src/config/flink-conf.js'
import { parseLegacyFlinkConf, parseStandardFlinkConf } from '../../src/config/flink-conf-file.js'
import { parseConfig } from '../../src/config/load.js'

const LEGACY = `# Flink 1.18 style
rest.bind-address: 127.0.0.1
rest.port: 8082
security.ssl.rest.enabled: true
security.ssl.rest.keystore: /opt/flink/conf/rest.keystore   # the REST keystore
security.ssl.rest.keystore-password: rest_keystore_password
security.ssl.rest.key-password: rest_key_password
security.ssl.rest.truststore: /opt/flink/conf/ca.truststore
security.ssl.rest.truststore-password: rest_truststore_password
security.ssl.rest.authentication-enabled: true
security.ssl.rest.cert.fingerprint: 8A:2A:1B:22:9C:92:DA:73:CE:91:1C:93:92:5E:38:41:1B:C8:24:A4
security.ssl.algorithms: TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384
security.ssl.protocol: TLSv1.3
`

const STANDARD = `rest:
  bind-address: 127.0.0.1
  port: 8082
security:
  ssl:
    rest:
      enabled: true
      keystore: /opt/flink/conf/rest.keystore
      keystore-password: rest_keystore_password
      key-password: rest_key_password
      truststore: /opt/flink/conf/ca.truststore
      truststore-password: rest_truststore_password
      authentication-enabled: true
      cert:
        fingerprint: 8A:2A:1B:22:9C:92:DA:73:CE:91:1C:93:92:5E:38:41:1B:C8:24:A4
    algorithms: TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384
    protocol: TLSv1.3
`

const PIN = 'sha1:8A2A1B229C92DA73CE911C93925E38411BC824A4'

function dirWith(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'fg-flinkconf-'))
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text)
  return dir
}

const load = (files: Record<string, string>, own = '') =>
  parseConfig(`flinkConf: ${dirWith(files)}\nauth: { anonymous: {} }\n${own}`, 'x.yaml', {})

const rest = (file: string, text: string) => resolveFlinkRest(readFlinkConf(dirWith({ [file]: text })))

describe("reading Flink's files as Flink does", () => {
  it('reads both file styles to the same keys', () => {
    expect(Object.fromEntries(parseStandardFlinkConf(STANDARD))).toEqual(
      Object.fromEntries(parseLegacyFlinkConf(LEGACY)),
    )
  })

  it('parses flink-conf.yaml line by line as 1.x GlobalConfiguration does', () => {
    const entries = parseLegacyFlinkConf(
      [
        'a: one # comment',
        'b: "quoted"',
        'c: pass#word',
        'd:no-space',
        'e: ',
        'f: x: y',
        'g: first\rg: last',
        '  h :  spaced  ',
      ].join('\n'),
    )
    expect(Object.fromEntries(entries)).toEqual({
      a: 'one',
      b: '"quoted"',
      c: 'pass',
      f: 'x: y',
      g: 'last',
      h: 'spaced',
    })
  })

  it("keeps a config.yaml list as the YAML text Flink's string options see", () => {
    const entries = parseStandardFlinkConf(
      'security:\n  ssl:\n    algorithms: [TLS_A, TLS_B]\nrest.port: 1\n',
    )
    expect(entries.get('security.ssl.algorithms')).toBe('[TLS_A, TLS_B]')
    expect(entries.get('rest.port')).toBe('1')
  })

  it('prefers flink-conf.yaml as Flink 1.x does and warns that 2.x reads config.yaml; a named file settles it', () => {
    const dir = dirWith({ 'config.yaml': 'rest.port: 8082\n', 'flink-conf.yaml': 'rest.port: 1\n' })
    const fromDir = readFlinkConf(dir)
    expect(fromDir.entries.get('rest.port')).toBe('1')
    expect(fromDir.legacy).toBe(true)
    expect(fromDir.warnings).toEqual([expect.stringContaining('Flink 2.x reads only config.yaml')])
    const named = readFlinkConf(join(dir, 'config.yaml'))
    expect(named.entries.get('rest.port')).toBe('8082')
    expect(named.warnings).toEqual([])
    expect(() => readFlinkConf(mkdtempSync(join(tmpdir(), 'fg-empty-')))).toThrow(
      /neither config.yaml nor flink-conf.yaml/,
    )
  })

  it.each([
    ['8081', [8081]],
    [' 50100-50102 ', [50100, 50101, 50102]],
    ['50100,50105', [50100, 50105]],
    ['50100, 50103-50104', [50100, 50103, 50104]],
    ['0', [0]],
    ['50100 -50102', null],
    ['abc', null],
    ['70000', null],
    ['', null],
  ])('reads rest.bind-port %j as NetUtils.getPortRangeFromString: %j', (value, ports) => {
    expect(portRange(value)).toEqual(ports)
  })

  it("resolves Flink's fallback keys: security.ssl.* behind security.ssl.rest.*, rest.address, rest.bind-*", () => {
    const flink = rest(
      'config.yaml',
      [
        'security.ssl.rest.enabled: true',
        'security.ssl.keystore: /k.p12',
        'security.ssl.keystore-password: kp',
        'security.ssl.key-password: keyp',
        'security.ssl.truststore: /t.p12',
        'security.ssl.truststore-password: tp',
        'jobmanager.rpc.address: jm.example',
        'web.address: 127.0.0.2',
        'rest.port: 8090',
      ].join('\n'),
    )
    expect(flink).toMatchObject({
      restAddress: 'jm.example',
      bindAddress: '127.0.0.2',
      bindPorts: [8090],
      keystore: '/k.p12',
      keystorePassword: 'kp',
      keyPassword: 'keyp',
      truststore: '/t.p12',
      truststorePassword: 'tp',
      protocols: ['TLSv1.2'],
      ciphers: ['TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256', 'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384'],
      verifyHostname: false,
      warnings: [],
    })
    expect(rest('config.yaml', 'rest.port: 8090\nrest.bind-port: 8091\n').bindPorts).toEqual([8091])
  })

  it('takes security.ssl.enabled for REST TLS in flink-conf.yaml (1.x) and warns in config.yaml (2.x ignores it)', () => {
    expect(rest('flink-conf.yaml', 'security.ssl.enabled: true\n')).toMatchObject({
      restSsl: true,
      warnings: [],
    })
    const standard = rest('config.yaml', 'security.ssl.enabled: true\n')
    expect(standard.restSsl).toBe(true)
    expect(standard.warnings).toEqual([expect.stringContaining('Flink 2.x ignores it')])
  })

  it("takes the REST client's name check from security.ssl.rest.verify-hostname, never from security.ssl.verify-hostname", () => {
    expect(rest('config.yaml', 'security.ssl.verify-hostname: true\n').verifyHostname).toBe(false)
    expect(rest('config.yaml', 'security.ssl.rest.verify-hostname: true\n').verifyHostname).toBe(true)
  })
})

describe("Flink's configuration as flink-guard's defaults", () => {
  it.each([
    ['flink-conf.yaml', LEGACY],
    ['config.yaml', STANDARD],
  ])(
    'from %s: reaches Flink over TLS with its truststore, pin and client keystore; serves its keystore',
    (name, text) => {
      const { config, warnings } = load({ [name]: text })
      expect(warnings).toEqual([])
      expect(config.upstream!.url).toBe('https://127.0.0.1:8082')
      expect(config.upstream!.tls).toMatchObject({
        truststore: '/opt/flink/conf/ca.truststore',
        truststorePassword: 'rest_truststore_password',
        verifyHostname: false,
        pinnedFingerprints: [PIN],
        keystore: '/opt/flink/conf/rest.keystore',
        keyPassword: 'rest_key_password',
      })
      expect(config.tls).toMatchObject({
        keystore: '/opt/flink/conf/rest.keystore',
        keystorePassword: 'rest_keystore_password',
        ciphers: 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384',
        minVersion: 'TLSv1.3',
        maxVersion: 'TLSv1.3',
        clientAuth: 'require',
        truststore: '/opt/flink/conf/ca.truststore',
        pinnedFingerprints: [PIN],
      })
    },
  )

  it("with mutual auth takes Flink's default protocol and suites; without it, Node's (as Flink's server)", () => {
    const mutual = load({
      'config.yaml': LEGACY.replace(/^security\.ssl\.(algorithms|protocol|rest\.cert).*\n/gm, ''),
    })
    expect(mutual.config.tls).toMatchObject({
      // Flink enables exactly the protocols listed: TLSv1.2 alone is a maximum too.
      minVersion: 'TLSv1.2',
      maxVersion: 'TLSv1.2',
      ciphers: 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384',
    })
    const plain = load({
      'config.yaml': LEGACY.replace('authentication-enabled: true', 'authentication-enabled: false'),
    })
    expect(plain.config.tls?.ciphers).toBeUndefined()
    expect(plain.config.tls?.clientAuth).toBe('none')
    expect(plain.config.upstream!.tls.keystore).toBeUndefined()
  })

  it('connects to rest.bind-port, where Flink listens, not to rest.port', () => {
    const { config } = load({
      'config.yaml': 'rest.bind-address: 127.0.0.1\nrest.port: 8081\nrest.bind-port: 8090\n',
    })
    expect(config.upstream!.url).toBe('http://127.0.0.1:8090')
  })

  it.each(['50100-50200', '50100,50101', '0', 'eighty'])(
    'refuses to guess the port from rest.bind-port %s unless upstream.url is set',
    (bindPort) => {
      const files = { 'config.yaml': `rest.bind-address: 127.0.0.1\nrest.bind-port: "${bindPort}"\n` }
      expect(() => load(files)).toThrow(/flink-guard cannot know\. Set upstream\.url/)
      expect(load(files, 'upstream: { url: "http://127.0.0.1:50100" }\n').config.upstream!.url).toBe(
        'http://127.0.0.1:50100',
      )
    },
  )

  it.each([
    [
      'a space after the comma',
      '8A2A1B229C92DA73CE911C93925E38411BC824A4, 8A2A1B229C92DA73CE911C93925E38411BC824A4',
    ],
    ['a SHA-256', 'AB'.repeat(32)],
    ['a sha1: prefix', 'sha1:8A2A1B229C92DA73CE911C93925E38411BC824A4'],
  ])('refuses a fingerprint Flink refuses: %s', (_, fingerprint) => {
    expect(() =>
      load({ 'config.yaml': `${STANDARD}\nsecurity.ssl.rest.cert.fingerprint: "${fingerprint}"\n` }),
    ).toThrow(/Flink refuses/)
  })

  it('ignores the fingerprint without a truststore, as Flink does, and says so', () => {
    const { config, warnings } = load({
      'config.yaml':
        'rest.bind-address: 127.0.0.1\nsecurity.ssl.rest.enabled: true\nsecurity.ssl.rest.cert.fingerprint: 8A2A1B229C92DA73CE911C93925E38411BC824A4\n',
    })
    expect(config.upstream!.tls.pinnedFingerprints).toEqual([])
    expect(config.upstream!.tls.verifyHostname).toBe(true)
    expect(warnings).toEqual([expect.stringContaining('fingerprint is ignored')])
  })

  it('refuses a truststore without its password, as Flink does', () => {
    expect(() =>
      load({ 'config.yaml': 'security.ssl.rest.enabled: true\nsecurity.ssl.truststore: /t.p12\n' }),
    ).toThrow(/Flink refuses that/)
  })

  it('warns about a YAML list where Flink expects one comma-separated string', () => {
    expect(() =>
      load({
        'config.yaml': STANDARD.replace(
          /algorithms: .*/,
          'algorithms: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256]',
        ),
      }),
    ).toThrow(/"tls.ciphers" names unknown cipher suites/)
    const protocols = load({ 'config.yaml': STANDARD.replace('protocol: TLSv1.3', 'protocol: [TLSv1.2]') })
    expect(protocols.warnings).toEqual([expect.stringContaining('security.ssl.protocol as a YAML list')])
  })

  it("lets flink-guard's own keys win", () => {
    const { config } = load(
      { 'flink-conf.yaml': LEGACY },
      'upstream: { url: "https://flink:9000" }\ntls: { cert: /c.pem, key: /k.pem, clientAuth: none }\n',
    )
    expect(config.upstream!.url).toBe('https://flink:9000')
    expect(config.tls?.keystore).toBeUndefined()
    expect(config.tls?.clientAuth).toBe('none')
  })

  it('warns when Flink listens beyond loopback, and reports an unreadable flinkConf as a problem', () => {
    const { config, warnings } = load({ 'flink-conf.yaml': 'rest.bind-address: 0.0.0.0\nrest.port: 8081\n' })
    expect(config.upstream!.url).toBe('http://127.0.0.1:8081')
    expect(warnings).toEqual([expect.stringContaining("Flink's rest.bind-address is 0.0.0.0, not loopback")])
    expect(() =>
      parseConfig('flinkConf: /nonexistent/conf.yaml\nauth: { anonymous: {} }\n', 'x.yaml', {}),
    ).toThrow('"flinkConf" /nonexistent/conf.yaml cannot be read (ENOENT)')
  })
})
