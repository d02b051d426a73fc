import { randomUUID } from 'node:crypto'
import { once } from 'node:events'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { exportSPKI, SignJWT } from 'jose'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { AuthOutcome } from '../../src/auth/authenticator.js'
import { JwtAuthenticator } from '../../src/auth/jwt/authenticator.js'
import { JwtConfigSchema } from '../../src/auth/jwt/config.js'
import { configOf, credentials, recordingLogger } from './support/auth.js'
import { eventually } from './support/eventually.js'
import {
  type JwksServer,
  type SigningKey,
  signingKey,
  signToken,
  startJwksServer,
} from './support/jwks-server.js'

const ISSUER = 'https://idp.example.com/realms/flink'
const AUDIENCE = 'flink-guard'
const CLAIMS = { iss: ISSUER, aud: AUDIENCE, sub: 'alice', groups: ['flink-admins', 'data-eng'] }

const bearer = (token: string) => credentials({ authorization: `Bearer ${token}` })
const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')

function expectRefused(outcome: AuthOutcome, reason: string): void {
  // A key that cannot be fetched is the IdP's outage (503), not a bad token (401).
  const code =
    reason === 'keys_unavailable' ? 'FG_ERR_AUTH_PROVIDER_UNAVAILABLE' : 'FG_ERR_AUTH_INVALID_TOKEN'
  expect(outcome).toEqual({ kind: 'refused', method: 'jwt', code, reason })
}

function expectAccepted(outcome: AuthOutcome, subject = 'alice'): void {
  expect(outcome.kind, JSON.stringify(outcome)).toBe('accepted')
  if (outcome.kind === 'accepted') expect(outcome.identity.subject).toBe(subject)
}

/** A server that must never be asked: an attacker's key endpoint named in a token header. */
async function startAttackerServer() {
  let hits = 0
  const server = createServer((_request, response) => {
    hits += 1
    response.end('{}')
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    hits: () => hits,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}

let idp: JwksServer
let rsa: SigningKey
let ec: SigningKey
const opened: JwtAuthenticator[] = []

async function authenticator(overrides: Record<string, unknown> = {}): Promise<JwtAuthenticator> {
  const config = configOf(JwtConfigSchema, {
    issuer: ISSUER,
    audience: AUDIENCE,
    jwksUri: idp.jwksUri,
    jwksRefetchCooldownSec: 0,
    ...overrides,
  })
  const jwt = await JwtAuthenticator.create(config, { logger: recordingLogger() })
  opened.push(jwt)
  return jwt
}

beforeAll(async () => {
  rsa = await signingKey('rsa-1', 'RS256')
  ec = await signingKey('ec-1', 'ES256')
  idp = await startJwksServer([rsa.publicJwk, ec.publicJwk])
})
afterEach(async () => {
  idp.keys = [rsa.publicJwk, ec.publicJwk]
  idp.down = false
  await Promise.all(opened.splice(0).map((jwt) => jwt.close()))
})
afterAll(() => idp.close())

describe('JWT bearer authenticator against a real JWKS endpoint', () => {
  it('accepts RS256 and ES256 tokens from the JWKS, with subject, roles and claims', async () => {
    const jwt = await authenticator()
    expect(jwt.ready()).toEqual({ ok: true })
    for (const key of [rsa, ec]) {
      const outcome = await jwt.authenticate(bearer(await signToken(key, CLAIMS)))
      expectAccepted(outcome)
      if (outcome.kind !== 'accepted') continue
      expect(outcome.identity).toMatchObject({ method: 'jwt', roles: ['flink-admins', 'data-eng'] })
      expect(outcome.identity.claims).toMatchObject({ iss: ISSUER, aud: AUDIENCE })
      expect(Object.isFrozen(outcome.identity.claims)).toBe(true)
    }
  })

  it.each([['Bearer'], ['bearer'], ['BEARER']])(
    'takes the scheme "%s" case-insensitively',
    async (scheme) => {
      const jwt = await authenticator()
      const token = await signToken(rsa, CLAIMS)
      expectAccepted(await jwt.authenticate(credentials({ authorization: `${scheme} ${token}` })))
    },
  )

  it('answers absent without a bearer token: no header, another scheme, or a token in the query string', async () => {
    const jwt = await authenticator()
    expect(await jwt.authenticate(credentials())).toEqual({ kind: 'absent' })
    expect(await jwt.authenticate(credentials({ authorization: 'Basic YWxpY2U6c2VjcmV0' }))).toEqual({
      kind: 'absent',
    })
    // The authenticator only ever reads the Authorization header: ?access_token= is not a credential.
    expect(
      await jwt.authenticate({ ...credentials(), headers: { host: 'x', ':path': '/jobs?access_token=abc' } }),
    ).toEqual({ kind: 'absent' })
  })

  it.each([
    ['roles from a list claim', { groups: ['a', 'b'] }, 'groups', ['a', 'b']],
    [
      'roles from a dotted path',
      { realm_access: { roles: ['kc-admin'] } },
      'realm_access.roles',
      ['kc-admin'],
    ],
    [
      'roles from a space-separated scope',
      { scope: 'flink:read  flink:write' },
      'scope',
      ['flink:read', 'flink:write'],
    ],
    [
      'roles from a namespaced claim with dots',
      { 'https://ex.com/roles': ['ns'] },
      'https://ex.com/roles',
      ['ns'],
    ],
    ['no roles when the claim is missing', {}, 'groups', []],
    ['roles merged from several paths', { groups: ['g'], scope: 's' }, ['groups', 'scope'], ['g', 's']],
  ])('%s', async (_name, claims, rolesClaim, roles) => {
    const jwt = await authenticator({ rolesClaim })
    const outcome = await jwt.authenticate(
      bearer(await signToken(rsa, { iss: ISSUER, aud: AUDIENCE, sub: 'alice', ...claims })),
    )
    expectAccepted(outcome)
    if (outcome.kind === 'accepted') expect(outcome.identity.roles).toEqual(roles)
  })

  it('takes the subject from subjectClaim and refuses a token without one', async () => {
    const jwt = await authenticator({ subjectClaim: 'preferred_username' })
    expectAccepted(
      await jwt.authenticate(bearer(await signToken(rsa, { ...CLAIMS, preferred_username: 'bob' }))),
      'bob',
    )
    expectRefused(await jwt.authenticate(bearer(await signToken(rsa, CLAIMS))), 'missing_subject')
  })

  it('refuses alg "none"', async () => {
    const jwt = await authenticator()
    const unsigned = `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url({ ...CLAIMS, exp: 4_000_000_000 })}.`
    expectRefused(await jwt.authenticate(bearer(unsigned)), 'algorithm')
  })

  it('refuses HS256 signed with the RSA public key as the secret (algorithm confusion)', async () => {
    const publicPem = await exportSPKI(
      (await import('node:crypto')).createPublicKey({ key: rsa.publicJwk, format: 'jwk' }),
    )
    const forged = await new SignJWT(CLAIMS)
      .setProtectedHeader({ alg: 'HS256', kid: rsa.kid })
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode(publicPem))
    // Default algorithms are asymmetric only.
    expectRefused(await (await authenticator()).authenticate(bearer(forged)), 'algorithm')
    // With HS256 allowed, only the configured secret verifies it, never a JWKS key.
    const withSecret = await authenticator({ algorithms: ['RS256', 'HS256'], secret: 'x'.repeat(40) })
    expectRefused(await withSecret.authenticate(bearer(forged)), 'bad_signature')
  })

  it('accepts HS256 signed with the configured secret when HS256 is allowed', async () => {
    const secret = 's'.repeat(40)
    const jwt = await authenticator({ algorithms: ['HS256'], secret })
    const token = await new SignJWT(CLAIMS)
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode(secret))
    expectAccepted(await jwt.authenticate(bearer(token)))
  })

  it.each([
    ['expired', { expiresInSec: -120 }, {}, 'expired'],
    ['not valid before a future nbf', { notBeforeInSec: 600 }, {}, 'not_yet_valid'],
    ['from another issuer', {}, { iss: 'https://evil.example.com' }, 'bad_issuer'],
    ['for another audience', {}, { aud: 'another-service' }, 'bad_audience'],
    ['without exp', { expiresInSec: null }, {}, 'missing_claim'],
  ])('refuses a token %s', async (_name, options, claims, reason) => {
    const jwt = await authenticator()
    expectRefused(
      await jwt.authenticate(bearer(await signToken(rsa, { ...CLAIMS, ...claims }, options))),
      reason,
    )
  })

  it('allows clock skew within clockToleranceSec', async () => {
    const jwt = await authenticator({ clockToleranceSec: 60 })
    expectAccepted(await jwt.authenticate(bearer(await signToken(rsa, CLAIMS, { expiresInSec: -30 }))))
  })

  it('skips the issuer and audience checks only when switched off with false', async () => {
    const jwt = await authenticator({ issuer: false, audience: false })
    const token = await signToken(rsa, { sub: 'alice', iss: 'https://anyone', aud: 'anything' })
    expectAccepted(await jwt.authenticate(bearer(token)))
  })

  it('refuses a token signed by a key that is not in the JWKS but claims a known kid', async () => {
    const jwt = await authenticator()
    const impostor = { ...(await signingKey('rsa-1', 'RS256')) }
    expectRefused(await jwt.authenticate(bearer(await signToken(impostor, CLAIMS))), 'bad_signature')
  })

  it('never fetches or trusts a key named by jku, x5u or jwk in the token header', async () => {
    const attacker = await startAttackerServer()
    try {
      const jwt = await authenticator()
      const evil = await signingKey(`evil-${randomUUID()}`, 'RS256')
      for (const header of [
        { jku: `${attacker.url}/jwks.json` },
        { x5u: `${attacker.url}/cert.pem` },
        { jwk: evil.publicJwk },
        { jku: `${attacker.url}/jwks.json`, kid: 'rsa-1' },
      ]) {
        const outcome = await jwt.authenticate(bearer(await signToken(evil, CLAIMS, { header })))
        expect(outcome.kind).toBe('refused')
        if (outcome.kind === 'refused') expect(['unknown_key', 'bad_signature']).toContain(outcome.reason)
      }
      expect(attacker.hits()).toBe(0)
    } finally {
      await attacker.close()
    }
  })

  it.each([
    ['a bare scheme', 'Bearer'],
    ['two parts', 'Bearer abc.def'],
    ['characters outside base64url', 'Bearer a+b.c/d.e=f'],
    [
      'a header that is not JSON',
      `Bearer ${Buffer.from('not json').toString('base64url')}.${b64url({})}.sig`,
    ],
    ['a header that is not base64url JSON', 'Bearer @@@.e30.sig'],
    ['a kid that is not a string', `Bearer ${b64url({ alg: 'RS256', kid: 7 })}.${b64url({})}.c2ln`],
  ])('refuses a malformed token: %s', async (_name, authorization) => {
    const jwt = await authenticator()
    expectRefused(await jwt.authenticate(credentials({ authorization })), 'malformed')
  })

  it('refuses a 64 KB token before decoding it', async () => {
    const jwt = await authenticator()
    const huge = `${b64url({ alg: 'RS256', kid: 'rsa-1' })}.${'A'.repeat(64 * 1024)}.sig`
    expectRefused(await jwt.authenticate(bearer(huge)), 'too_large')
  })

  it('a flood of random kids fetches the JWKS at most once per cooldown', async () => {
    const jwt = await authenticator({ jwksRefetchCooldownSec: 3600 })
    const before = idp.hits
    const tokens = await Promise.all(
      Array.from({ length: 50 }, () => signToken({ ...ec, kid: randomUUID() }, CLAIMS)),
    )
    const outcomes = await Promise.all(tokens.map((token) => jwt.authenticate(bearer(token))))
    for (const token of tokens.slice(0, 10)) outcomes.push(await jwt.authenticate(bearer(token)))
    for (const outcome of outcomes) expectRefused(outcome, 'unknown_key')
    // The start fetched the JWKS moments ago, inside the cooldown: the flood adds no request at all.
    expect(idp.hits - before).toBe(0)

    const eager = await authenticator({ jwksRefetchCooldownSec: 0 })
    const eagerBefore = idp.hits
    await Promise.all(tokens.map((token) => eager.authenticate(bearer(token))))
    // Concurrent unknown kids share one fetch in flight.
    expect(idp.hits - eagerBefore).toBeLessThanOrEqual(2)
  })

  it('keeps the keys in use while the JWKS endpoint is down, and answers an unknown kid as keys_unavailable', async () => {
    const logger = recordingLogger()
    const config = configOf(JwtConfigSchema, {
      issuer: ISSUER,
      audience: AUDIENCE,
      jwksUri: idp.jwksUri,
      jwksRefetchCooldownSec: 0,
    })
    const jwt = await JwtAuthenticator.create(config, { logger })
    opened.push(jwt)
    idp.down = true
    await jwt.refreshKeys()
    expect(logger.lines.some((line) => line.message === 'JWKS fetch failed; the keys in use are kept')).toBe(
      true,
    )
    expectAccepted(await jwt.authenticate(bearer(await signToken(rsa, { ...CLAIMS, jti: randomUUID() }))))
    const stranger = await signingKey('rsa-new', 'RS256')
    expectRefused(await jwt.authenticate(bearer(await signToken(stranger, CLAIMS))), 'keys_unavailable')
    expect(jwt.ready()).toEqual({ ok: true })
    // Back up: the same kid is now looked up and, absent from the JWKS, is a bad token.
    idp.down = false
    expectRefused(await jwt.authenticate(bearer(await signToken(stranger, CLAIMS))), 'unknown_key')
  })

  it('is not ready and refuses with keys_unavailable until the first JWKS arrives', async () => {
    idp.down = true
    const jwt = await authenticator()
    expect(jwt.ready().ok).toBe(false)
    expect(jwt.ready().reason).toContain('answered 503')
    expectRefused(await jwt.authenticate(bearer(await signToken(rsa, CLAIMS))), 'keys_unavailable')
    idp.down = false
    expectAccepted(await jwt.authenticate(bearer(await signToken(rsa, CLAIMS))))
    expect(jwt.ready()).toEqual({ ok: true })
  })

  it('follows key rotation: a new kid is fetched, old tokens work until their key leaves the JWKS', async () => {
    const jwt = await authenticator()
    const oldToken = await signToken(rsa, CLAIMS)
    expectAccepted(await jwt.authenticate(bearer(oldToken)))

    const next = await signingKey('rsa-2', 'RS256')
    idp.keys = [rsa.publicJwk, next.publicJwk]
    const newToken = await signToken(next, CLAIMS)
    expectAccepted(await jwt.authenticate(bearer(newToken)))
    expectAccepted(await jwt.authenticate(bearer(oldToken)))

    idp.keys = [next.publicJwk]
    await jwt.refreshKeys()
    // The old token was cached as verified: removing its key must drop it from the cache too.
    expectRefused(await jwt.authenticate(bearer(oldToken)), 'unknown_key')
    expectAccepted(await jwt.authenticate(bearer(newToken)))
  })

  it('a refetch for an unknown kid also drops the keys that left the JWKS', async () => {
    const jwt = await authenticator()
    const token = await signToken(ec, CLAIMS)
    expectAccepted(await jwt.authenticate(bearer(token)))
    idp.keys = [rsa.publicJwk]
    await jwt.authenticate(bearer(await signToken({ ...rsa, kid: 'unknown' }, CLAIMS)))
    await eventually(async () => (await jwt.authenticate(bearer(token))).kind === 'refused')
    expectRefused(await jwt.authenticate(bearer(token)), 'unknown_key')
  })

  it('discovers the JWKS from the issuer and checks the discovery document names that issuer', async () => {
    const jwt = await authenticator({ issuer: idp.url, jwksUri: undefined })
    expect(jwt.ready()).toEqual({ ok: true })
    expectAccepted(await jwt.authenticate(bearer(await signToken(rsa, { ...CLAIMS, iss: idp.url }))))

    idp.discoveryIssuer = 'https://somebody-else.example.com'
    try {
      const misled = await authenticator({ issuer: idp.url, jwksUri: undefined })
      expect(misled.ready().ok).toBe(false)
      expect(misled.ready().reason).toContain('names issuer "https://somebody-else.example.com"')
    } finally {
      idp.discoveryIssuer = undefined
    }
  })

  it('caches verified tokens, and verifies again with the cache off', async () => {
    for (const maxEntries of [10_000, 0]) {
      const jwt = await authenticator({ tokenCache: { maxEntries } })
      const token = await signToken(rsa, CLAIMS)
      for (let i = 0; i < 3; i += 1) expectAccepted(await jwt.authenticate(bearer(token)))
    }
  })

  it('challenges with the realm, adding error="invalid_token" after a token refusal', async () => {
    const jwt = await authenticator()
    expect(jwt.challenge()).toBe('Bearer realm="flink"')
    const refused = await jwt.authenticate(bearer('a.b.c'))
    expect(refused.kind).toBe('refused')
    if (refused.kind === 'refused')
      expect(jwt.challenge(refused)).toBe('Bearer realm="flink", error="invalid_token"')
  })
})
