import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parseLegacyFlinkConf, parseStandardFlinkConf, readFlinkConf } from '../../src/config/flink-conf.js'
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
security.ssl.verify-hostname: false
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
    verify-hostname: false
    algorithms: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384]
    protocol: TLSv1.3
`

function dirWith(name: string, text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'fg-flinkconf-'))
  writeFileSync(join(dir, name), text)
  return dir
}

describe("Flink's configuration as defaults", () => {
  it('reads both file styles to the same keys', () => {
    const legacy = parseLegacyFlinkConf(LEGACY)
    const standard = parseStandardFlinkConf(STANDARD)
    expect(Object.fromEntries(standard)).toEqual(Object.fromEntries(legacy))
    expect(legacy.get('security.ssl.rest.keystore')).toBe('/opt/flink/conf/rest.keystore')
  })

  it('prefers config.yaml in a directory and names a directory that has neither file', () => {
    const dir = dirWith('config.yaml', STANDARD)
    writeFileSync(join(dir, 'flink-conf.yaml'), 'rest.port: 1\n')
    expect(readFlinkConf(dir).get('rest.port')).toBe('8082')
    expect(() => readFlinkConf(mkdtempSync(join(tmpdir(), 'fg-empty-')))).toThrow(
      /neither config.yaml nor flink-conf.yaml/,
    )
  })

  it.each([
    ['flink-conf.yaml', LEGACY],
    ['config.yaml', STANDARD],
  ])(
    'from %s: reaches Flink over TLS with its truststore, pin and client keystore; serves its keystore',
    (name, text) => {
      const dir = dirWith(name, text)
      const { config, warnings } = parseConfig(`flinkConf: ${dir}\nauth: { anonymous: {} }\n`, 'x.yaml', {})
      expect(warnings).toEqual([])
      expect(config.upstream.url).toBe('https://127.0.0.1:8082')
      expect(config.upstream.tls).toMatchObject({
        truststore: '/opt/flink/conf/ca.truststore',
        truststorePassword: 'rest_truststore_password',
        verifyHostname: false,
        pinnedFingerprints: ['8A:2A:1B:22:9C:92:DA:73:CE:91:1C:93:92:5E:38:41:1B:C8:24:A4'],
        keystore: '/opt/flink/conf/rest.keystore',
        keyPassword: 'rest_key_password',
      })
      expect(config.tls).toMatchObject({
        keystore: '/opt/flink/conf/rest.keystore',
        keystorePassword: 'rest_keystore_password',
        ciphers: 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384',
        minVersion: 'TLSv1.3',
        clientAuth: 'require',
        truststore: '/opt/flink/conf/ca.truststore',
      })
    },
  )

  it("lets flink-guard's own keys win", () => {
    const dir = dirWith('flink-conf.yaml', LEGACY)
    const { config } = parseConfig(
      `flinkConf: ${dir}\nauth: { anonymous: {} }\nupstream: { url: "https://flink:9000" }\ntls: { cert: /c.pem, key: /k.pem, clientAuth: none }\n`,
      'x.yaml',
      {},
    )
    expect(config.upstream.url).toBe('https://flink:9000')
    expect(config.tls?.keystore).toBeUndefined()
    expect(config.tls?.clientAuth).toBe('none')
  })

  it('warns when Flink listens beyond loopback, and reports an unreadable flinkConf as a problem', () => {
    const dir = dirWith('flink-conf.yaml', 'rest.bind-address: 0.0.0.0\nrest.port: 8081\n')
    const { config, warnings } = parseConfig(`flinkConf: ${dir}\nauth: { anonymous: {} }\n`, 'x.yaml', {})
    expect(config.upstream.url).toBe('http://127.0.0.1:8081')
    expect(warnings).toEqual([expect.stringContaining("Flink's rest.bind-address is 0.0.0.0, not loopback")])
    expect(() =>
      parseConfig('flinkConf: /nonexistent/conf.yaml\nauth: { anonymous: {} }\n', 'x.yaml', {}),
    ).toThrow('"flinkConf" /nonexistent/conf.yaml cannot be read (ENOENT)')
  })
})
