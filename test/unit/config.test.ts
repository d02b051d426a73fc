import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ConfigError, maskedConfig, parseConfig } from '../../src/config/load.js'
import { DEFAULT_MAX_BODY_BYTES } from '../../src/config/schema.js'

/** The smallest authentication a valid config needs; the tests here are about other keys. */
const AUTH = 'auth: { anonymous: {} }\n'

function problemsOf(yaml: string, env: NodeJS.ProcessEnv = {}): readonly string[] {
  try {
    parseConfig(yaml, 'test.yaml', env)
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError)
    expect((err as ConfigError).code).toBe('FG_ERR_CONFIG_INVALID')
    return (err as ConfigError).problems
  }
  throw new Error('expected the config to be refused')
}

describe('config', () => {
  it('applies the defaults to a minimal config', () => {
    const { config } = parseConfig(`${AUTH}upstream: { url: "http://127.0.0.1:8081" }`, 'x.yaml', {})
    expect(config).toEqual({
      workers: 1,
      listen: { host: '127.0.0.1', port: 8443 },
      upstream: {
        url: 'http://127.0.0.1:8081',
        timeouts: { connectMs: 5000, responseMs: 60000 },
        tls: { verifyHostname: true, pinnedFingerprints: [] },
      },
      limits: {
        maxBodyBytes: DEFAULT_MAX_BODY_BYTES,
        maxHeaderCount: 100,
        handshakeTimeoutMs: 10_000,
        maxConnections: 800,
        uploads: { jarFilesOnly: true, allowedSha256: [] },
        maxConnectionsPerAddress: 100,
        failedRequests: { burst: 60, perMinute: 30, maxAddresses: 100_000 },
      },
      auth: { order: ['mtls', 'jwt', 'oidc', 'basic'], anonymous: { roles: [] } },
      authz: {
        roles: {},
        profiles: {},
        rules: [],
        sensLogsFor: 'admin',
        allowedNetworks: [],
        arguments: [],
        trustedProxies: [],
      },
      responses: {
        cors: { allowedOrigins: [], allowCredentials: false, maxAgeSec: 600 },
        hstsMaxAgeSec: 31536000,
        frameAncestors: 'none',
        userBanner: true,
        redactForNonAdmins: true,
      },
      audit: { followUp: { enabled: true, timeoutMs: 1_800_000, intervalMs: 1000, maxPending: 200 } },
      admin: { host: '127.0.0.1', port: 9250 },
      metrics: { enabled: true },
      shutdown: { graceMs: 30000 },
    })
    expect(Object.isFrozen(config.upstream!.timeouts)).toBe(true)
  })

  it('reports every problem at once, each with its key path', () => {
    const problems = problemsOf(`
listen: { port: 70000, hots: x }
upstream: { timeouts: { connectMs: -5 } }
limits: { maxBodyBytes: "lots" }
shutdown: { graceMs: 10 }
tsl: {}
`)
    expect(problems).toEqual(
      expect.arrayContaining([
        '"listen.port" must be at most 65535, got 70000',
        '"listen.hots" is not a known key',
        '"upstream.url" is required',
        '"upstream.timeouts.connectMs" must be at least 1, got -5',
        '"limits.maxBodyBytes" must be a whole number, got "lots"',
        '"tsl" is not a known key',
        expect.stringMatching(
          /^"auth" configures no authentication method, so every request would be refused/,
        ),
      ]),
    )
    expect(problems).toHaveLength(7)
  })

  it.each([
    ['ftp://x', 'must be an http: or https: URL, got "ftp://x"'],
    ['not a url', 'must be an http: or https: URL, got "not a url"'],
    ['http://user:pw@127.0.0.1:8081', 'must not carry credentials'],
    ['http://127.0.0.1:8081/jobs', 'must be an origin without a path or query'],
    ['http://127.0.0.1:8081/?x=1', 'must be an origin without a path or query'],
  ])('refuses upstream.url %s', (url, message) => {
    const problems = problemsOf(`${AUTH}upstream: { url: "${url}" }`)
    expect(problems).toHaveLength(1)
    expect(problems[0]).toContain(`"upstream.url" ${message}`)
  })

  it('refuses the admin listener on the proxy port', () => {
    expect(
      problemsOf(
        `${AUTH}upstream: { url: "http://127.0.0.1:1" }\nlisten: { port: 9000 }\nadmin: { port: 9000 }`,
      ),
    ).toEqual(['"admin.port" must differ from "listen.port" (both are 9000)'])
  })

  it.each([
    [
      'upstream.timeouts.connectMs',
      'upstream: { url: "http://127.0.0.1:1", timeouts: { connectMs: 5000.5 } }',
      '5000.5',
    ],
    ['listen.port', 'upstream: { url: "http://127.0.0.1:1" }\nlisten: { port: 8443.9 }', '8443.9'],
    ['listen.port', 'upstream: { url: "http://127.0.0.1:1" }\nlisten: { port: "${env:PORT}" }', '"8443.5"'],
  ])('refuses a fraction where %s wants a whole number, rather than truncating it', (key, yaml, got) => {
    expect(problemsOf(`${AUTH}${yaml}`, { PORT: '8443.5' })).toEqual([
      `"${key}" must be a whole number, got ${got}`,
    ])
  })

  it('reports YAML syntax errors and duplicate keys', () => {
    expect(problemsOf('upstream: [unclosed')[0]).toMatch(/^YAML: /)
    expect(problemsOf('upstream: { url: "http://a" }\nupstream: { url: "http://b" }')[0]).toMatch(
      /^YAML: .*unique/i,
    )
    expect(problemsOf('- a list')).toEqual([
      'the file must be a YAML mapping of keys (listen:, upstream:, …)',
    ])
  })

  it('reports an unquoted ${file:} inside { } as one problem that says to quote it, with the line and a caret', () => {
    const problems = problemsOf(
      `${AUTH}upstream: { url: "http://127.0.0.1:1" }\ntls: { keystore: /x, keystorePassword: \${file:/run/secrets/pw} }\n`,
    )
    expect(problems).toEqual([
      'YAML: line 3: ${file:/run/secrets/pw} must be quoted inside { } or [ ] (its braces are YAML syntax there): write "${file:/run/secrets/pw}"\n\n' +
        'tls: { keystore: /x, keystorePassword: ${file:/run/secrets/pw} }\n' +
        '                                       ^',
    ])
  })

  it('shows the first YAML error with its line and a caret, and counts the ones after it', () => {
    const [problem, ...others] = problemsOf('listen: { port: 8443\nupstream: [unclosed\n')
    expect(others).toEqual([])
    expect(problem).toMatch(
      /^YAML: .* at line 2, column 1: \(and 1 more YAML error after it, likely caused by it\)\n\nlisten: \{ port: 8443\nupstream: \[unclosed\n\^$/,
    )
  })

  it('resolves ${env:X} and ${file:path}, and masks them when printed', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fg-config-'))
    const secretFile = join(dir, 'host')
    writeFileSync(secretFile, '127.0.0.1\n')
    const loaded = parseConfig(
      `${AUTH}upstream: { url: "http://\${file:${secretFile}}:\${env:FLINK_PORT}" }\nlisten: { port: "\${env:PORT}" }`,
      'x.yaml',
      { FLINK_PORT: '8081', PORT: '9443' },
    )
    expect(loaded.config.upstream!.url).toBe('http://127.0.0.1:8081')
    expect(loaded.config.listen.port).toBe(9443)
    const printed = maskedConfig(loaded) as {
      upstream: { url: string }
      listen: { port: unknown; host: string }
    }
    expect(printed.upstream.url).toBe('********')
    expect(printed.listen.port).toBe('********')
    expect(printed.listen.host).toBe('127.0.0.1')
  })

  it('names the missing variable and the unreadable file', () => {
    const problems = problemsOf(
      'upstream: { url: "${env:NOPE}" }\nlisten: { host: "${file:/nonexistent/secret}" }',
    )
    expect(problems).toContain('"upstream.url" refers to environment variable NOPE, which is not set')
    expect(problems).toContain(
      '"listen.host" refers to file /nonexistent/secret, which cannot be read (ENOENT)',
    )
  })

  it.each([
    [
      'authz.allowedNetworks',
      '[10.0.0.0/33]',
      '"authz.allowedNetworks[0]" has a prefix length that must be 0 to 32, got "10.0.0.0/33"',
    ],
    [
      'authz.allowedNetworks',
      '["::1/129"]',
      '"authz.allowedNetworks[0]" has a prefix length that must be 0 to 128, got "::1/129"',
    ],
    [
      'authz.trustedProxies',
      '[not-an-ip]',
      '"authz.trustedProxies[0]" must be an IPv4 or IPv6 address or CIDR, got "not-an-ip"',
    ],
    [
      'authz.trustedProxies',
      '["10.0.0.1/8/8"]',
      '"authz.trustedProxies[0]" must be an IPv4 or IPv6 address or CIDR, got "10.0.0.1/8/8"',
    ],
  ])('refuses a bad network in %s: %s', (key, value, message) => {
    const [section, field] = key.split('.')
    expect(
      problemsOf(`${AUTH}upstream: { url: "http://127.0.0.1:1" }\n${section}: { ${field}: ${value} }`),
    ).toEqual([message])
  })

  it.each(['https://dash.example.com/', '*', 'https://dash.example.com/path', 'dash.example.com'])(
    'refuses the CORS origin %s',
    (origin) => {
      const problems = problemsOf(
        `${AUTH}upstream: { url: "http://127.0.0.1:1" }\nresponses: { cors: { allowedOrigins: ["${origin}"] } }`,
      )
      expect(problems).toEqual([
        expect.stringContaining('"responses.cors.allowedOrigins[0]" must be an origin'),
      ])
    },
  )

  it('names a bad authorization rule and an unknown preset by key', () => {
    expect(
      problemsOf(
        `${AUTH}upstream: { url: "http://127.0.0.1:1" }\nauthz: { rules: [{ effect: allow, path: "/jobs/**/x" }] }`,
      ),
    ).toEqual(['"authz.rules[0].path" may use "**" only as the last segment, got "/jobs/**/x"'])
    expect(
      problemsOf(`${AUTH}upstream: { url: "http://127.0.0.1:1" }\nauthz: { roles: { ops: superuser } }`),
    ).toEqual(['"authz.roles.ops" must be one of viewer, operator, deployer, admin, got "superuser"'])
  })

  it('refuses an unknown authentication method in auth.order', () => {
    expect(
      problemsOf('upstream: { url: "http://127.0.0.1:1" }\nauth: { order: [kerberos], anonymous: {} }'),
    ).toEqual(['"auth.order[0]" must be one of mtls, jwt, oidc, basic, got "kerberos"'])
  })
})

describe('a listener sharing Flink’s port on another address', () => {
  const config = (listen: string, upstream: string) =>
    `${AUTH}listen: { host: "${listen}", port: 8081 }\nupstream: { url: "${upstream}" }\n`

  it.each([
    ['10.1.2.3', 'http://127.0.0.1:8081'],
    ['127.0.0.2', 'http://127.0.0.1:8081'],
    ['0.0.0.0', 'http://127.0.0.1:8082'],
    ['0.0.0.0', 'http://flink-jobmanager-rest:8081'],
    ['fd00::7', 'https://[::1]:8081'],
  ])('accepts listen.host %s beside upstream %s', (listen, upstream) => {
    expect(parseConfig(config(listen, upstream), 'x.yaml', {}).config.listen).toEqual({
      host: listen,
      port: 8081,
    })
  })

  it.each([
    ['0.0.0.0', 'http://127.0.0.1:8081'],
    ['::', 'http://127.0.0.1:8081'],
    ['0:0:0:0:0:0:0:0', 'https://localhost:8081'],
    ['::0', 'http://[::1]:8081'],
    ['0.0.0.0', 'http://127.0.0.5:8081'],
  ])('refuses the wildcard %s on the port of upstream %s', (listen, upstream) => {
    expect(problemsOf(config(listen, upstream))).toEqual([
      expect.stringMatching(/^"listen\.host" must not be a wildcard \(.+\) on Flink's own port 8081: /),
    ])
  })

  it('refuses a wildcard on port 80 against an upstream that names no port', () => {
    const yaml = `${AUTH}listen: { host: "0.0.0.0", port: 80 }\nupstream: { url: "http://127.0.0.1" }\n`
    expect(problemsOf(yaml)).toEqual([expect.stringContaining("on Flink's own port 80")])
  })

  it.each([
    ['127.0.0.1', 'http://127.0.0.1:8081'],
    ['localhost', 'http://127.0.0.1:8081'],
    ['127.0.0.1', 'http://LOCALHOST:8081'],
    ['::1', 'http://[::1]:8081'],
  ])('refuses %s when it is upstream %s itself', (listen, upstream) => {
    expect(problemsOf(config(listen, upstream))).toEqual([
      expect.stringMatching(/^"listen\.host" .+:8081 is "upstream\.url" itself/),
    ])
  })

  it('takes the pod IP from the environment, as the manifests do', () => {
    const yaml = `${AUTH}listen: { host: "\${env:POD_IP}", port: 8081 }\nupstream: { url: "http://127.0.0.1:8081" }\n`
    expect(parseConfig(yaml, 'x.yaml', { POD_IP: '10.244.0.17' }).config.listen.host).toBe('10.244.0.17')
  })
})
