import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ConfigError, maskedConfig, parseConfig } from '../../src/config/load.js'
import { DEFAULT_MAX_BODY_BYTES } from '../../src/config/schema.js'

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
    const { config } = parseConfig('upstream: { url: "http://127.0.0.1:8081" }', 'x.yaml', {})
    expect(config).toEqual({
      listen: { host: '127.0.0.1', port: 8443 },
      upstream: { url: 'http://127.0.0.1:8081', timeouts: { connectMs: 5000, responseMs: 60000 } },
      limits: { maxBodyBytes: DEFAULT_MAX_BODY_BYTES },
      admin: { host: '127.0.0.1', port: 9250 },
      metrics: { enabled: true },
      shutdown: { graceMs: 30000 },
    })
    expect(Object.isFrozen(config.upstream.timeouts)).toBe(true)
  })

  it('reports every problem at once, each with its key path', () => {
    const problems = problemsOf(`
listen: { port: 70000, hots: x }
upstream: { timeouts: { connectMs: -5 } }
limits: { maxBodyBytes: "lots" }
shutdown: { graceMs: 10 }
tls: {}
`)
    expect(problems).toEqual(
      expect.arrayContaining([
        '"listen.port" must be at most 65535, got 70000',
        '"listen.hots" is not a known key',
        '"upstream.url" is required',
        '"upstream.timeouts.connectMs" must be at least 1, got -5',
        '"limits.maxBodyBytes" must be a whole number, got "lots"',
        '"tls" is not a known key',
      ]),
    )
    expect(problems).toHaveLength(6)
  })

  it.each([
    ['ftp://x', 'must be an http: or https: URL, got "ftp://x"'],
    ['not a url', 'must be an http: or https: URL, got "not a url"'],
    ['http://user:pw@127.0.0.1:8081', 'must not carry credentials'],
    ['http://127.0.0.1:8081/jobs', 'must be an origin without a path or query'],
    ['http://127.0.0.1:8081/?x=1', 'must be an origin without a path or query'],
  ])('refuses upstream.url %s', (url, message) => {
    const problems = problemsOf(`upstream: { url: "${url}" }`)
    expect(problems).toHaveLength(1)
    expect(problems[0]).toContain(`"upstream.url" ${message}`)
  })

  it('refuses the admin listener on the proxy port', () => {
    expect(
      problemsOf('upstream: { url: "http://127.0.0.1:1" }\nlisten: { port: 9000 }\nadmin: { port: 9000 }'),
    ).toEqual(['"admin.port" must differ from "listen.port" (both are 9000)'])
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

  it('resolves ${env:X} and ${file:path}, and masks them when printed', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fg-config-'))
    const secretFile = join(dir, 'host')
    writeFileSync(secretFile, '127.0.0.1\n')
    const loaded = parseConfig(
      `upstream: { url: "http://\${file:${secretFile}}:\${env:FLINK_PORT}" }\nlisten: { port: "\${env:PORT}" }`,
      'x.yaml',
      { FLINK_PORT: '8081', PORT: '9443' },
    )
    expect(loaded.config.upstream.url).toBe('http://127.0.0.1:8081')
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
})
