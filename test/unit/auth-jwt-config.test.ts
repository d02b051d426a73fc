import { Value } from '@sinclair/typebox/value'
import { describe, expect, it } from 'vitest'
import { JwtAuthenticator } from '../../src/auth/jwt/authenticator.js'
import { type JwtConfig, JwtConfigSchema, jwtConfigProblems } from '../../src/auth/jwt/config.js'

const logger = { info() {}, warn() {}, error() {} }
const config = (raw: Record<string, unknown>) => Value.Default(JwtConfigSchema, raw) as JwtConfig

describe('auth.jwt config', () => {
  it('defaults to asymmetric algorithms, exp required, sub and groups, 10k cached tokens', () => {
    const defaults = config({ issuer: 'https://idp', audience: 'x' })
    expect(Value.Check(JwtConfigSchema, defaults)).toBe(true)
    expect(defaults.algorithms).not.toContain('HS256')
    expect(defaults.algorithms).toContain('EdDSA')
    expect(defaults).toMatchObject({
      requiredClaims: ['exp'],
      subjectClaim: 'sub',
      rolesClaim: 'groups',
      tokenCache: { maxEntries: 10_000 },
      realm: 'flink',
    })
  })

  it('requires issuer and audience, accepting false as the explicit way to switch a check off', () => {
    const missing = config({ jwksUri: 'https://idp/jwks' })
    const paths = [...Value.Errors(JwtConfigSchema, missing)].map((error) => error.path)
    expect(paths).toContain('/issuer')
    expect(paths).toContain('/audience')
    for (const value of ['', true, 0, null, []]) {
      expect(Value.Check(JwtConfigSchema, config({ issuer: 'https://idp', audience: value }))).toBe(false)
    }
    expect(
      Value.Check(JwtConfigSchema, config({ issuer: false, audience: false, jwksUri: 'https://i/j' })),
    ).toBe(true)
  })

  it('never accepts alg "none" in the allowlist', () => {
    expect(
      Value.Check(JwtConfigSchema, config({ issuer: 'https://i', audience: 'a', algorithms: ['none'] })),
    ).toBe(false)
  })

  it.each([
    [{ issuer: 'https://i', audience: 'a', jwksUri: 'https://i/j', keyFiles: ['k.pem'] }, 'are exclusive'],
    [{ issuer: false, audience: 'a' }, 'or an "auth.jwt.issuer" to discover keys from is required'],
    [
      { issuer: 'https://i', audience: 'a', jwksUri: 'http://idp.example.com/jwks' },
      '"auth.jwt.jwksUri" must be an https: URL',
    ],
    [{ issuer: 'http://idp.example.com', audience: 'a' }, '"auth.jwt.issuer" must be an https: URL'],
    [
      { issuer: 'https://i', audience: 'a', algorithms: ['HS256'] },
      'lists HS256, which needs "auth.jwt.secret"',
    ],
    [{ issuer: 'https://i', audience: 'a', secret: 'x'.repeat(32) }, 'lists no HS256/HS384/HS512'],
  ])('reports %j: %s', (raw, message) => {
    const problems = jwtConfigProblems(config(raw))
    expect(problems.join('\n')).toContain(message)
    expect(() => new JwtAuthenticator(config(raw), { logger })).toThrow(
      expect.objectContaining({ code: 'FG_ERR_CONFIG_INVALID' }),
    )
  })

  it('accepts http: key sources on loopback only', () => {
    for (const jwksUri of ['http://127.0.0.1:8080/jwks', 'http://localhost/jwks', 'http://[::1]:1/jwks']) {
      expect(jwtConfigProblems(config({ issuer: 'https://i', audience: 'a', jwksUri }))).toEqual([])
    }
  })
})

describe('auth.jwt files', () => {
  it('an unreadable caFile is a config error naming the key', () => {
    expect(
      () =>
        new JwtAuthenticator(config({ issuer: 'https://i', audience: 'a', caFile: '/nonexistent/ca.pem' }), {
          logger,
        }),
    ).toThrow(/"auth\.jwt\.caFile": \/nonexistent\/ca\.pem: cannot read \(ENOENT\)/)
  })
})
