import { describe, expect, it } from 'vitest'
import { isLoopbackHost } from '../../src/config/exposure.js'
import { validateConfig } from '../../src/config/load.js'

const TLS = { cert: '/etc/flink-guard/tls/server.pem', key: '/etc/flink-guard/tls/server-key.pem' }
const BASIC = { basic: { htpasswd: '/etc/flink-guard/users.htpasswd' } }

const warningsOf = (raw: Record<string, unknown>) =>
  validateConfig({ upstream: { url: 'http://127.0.0.1:8081' }, auth: BASIC, ...raw }, 'test', {}).warnings

describe('exposure warnings (logged at start, refused by check-config --strict)', () => {
  it.each([
    [
      'plain HTTP on 0.0.0.0 with Basic auth',
      { listen: { host: '0.0.0.0', port: 8080 } },
      /^"listen\.host" is 0\.0\.0\.0 without "tls": basic credentials cross the network in clear text/,
    ],
    [
      'plain HTTP on a routable address with bearer tokens',
      {
        listen: { host: '10.1.2.3' },
        auth: { jwt: { issuer: 'https://idp.example.com', audience: 'flink' } },
      },
      /^"listen\.host" is 10\.1\.2\.3 without "tls": jwt credentials/,
    ],
    [
      'a plaintext upstream to a remote host',
      { upstream: { url: 'http://jobmanager.flink.svc:8081' } },
      /^"upstream\.url" is plain http: to jobmanager\.flink\.svc, not loopback/,
    ],
    [
      'a plaintext cluster upstream to a remote host',
      { clusters: [{ name: 'etl', upstream: { url: 'http://etl-jobmanager:8081' } }] },
      /^"clusters\[0\]\.upstream\.url" is plain http: to etl-jobmanager, not loopback/,
    ],
    [
      'the admin port on 0.0.0.0',
      { admin: { host: '0.0.0.0', port: 9250 } },
      /^"admin\.host" is 0\.0\.0\.0: \/metrics and \/readyz answer anyone/,
    ],
  ])('warns about %s', (_name, raw, warning) => {
    const warnings = warningsOf(raw)
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toMatch(warning)
  })

  it.each([
    ['loopback listener, upstream and admin', {}],
    ['TLS on 0.0.0.0', { listen: { host: '0.0.0.0' }, tls: TLS }],
    [
      'anonymous only on 0.0.0.0 (no credential to expose)',
      { listen: { host: '0.0.0.0' }, auth: { anonymous: {} } },
    ],
    ['an https: upstream to a remote host', { upstream: { url: 'https://jobmanager.flink.svc:8081' } }],
    [
      'an IPv6 loopback upstream and admin',
      { upstream: { url: 'http://[::1]:8081' }, admin: { host: '::1' } },
    ],
  ])('stays quiet for %s', (_name, raw) => {
    expect(warningsOf(raw)).toEqual([])
  })

  it.each(['127.0.0.1', '127.10.0.2', 'localhost', 'LOCALHOST', '::1', '[::1]'])('%s is loopback', (host) => {
    expect(isLoopbackHost(host)).toBe(true)
  })

  it.each([
    '0.0.0.0',
    '::',
    '10.0.0.1',
    '127.0.0.1.nip.io',
    '128.0.0.1',
    'localhost.example.com',
    '::ffff:10.0.0.1',
  ])('%s is not loopback', (host) => {
    expect(isLoopbackHost(host)).toBe(false)
  })
})
