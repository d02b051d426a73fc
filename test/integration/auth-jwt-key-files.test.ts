import { execFileSync } from 'node:child_process'
import { createPublicKey } from 'node:crypto'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { exportPKCS8 } from 'jose'
import { beforeAll, describe, expect, it } from 'vitest'
import { JwtAuthenticator } from '../../src/auth/jwt/authenticator.js'
import { JwtConfigSchema } from '../../src/auth/jwt/config.js'
import { configOf, credentials, recordingLogger } from './support/auth.js'
import { type SigningKey, signingKey, signToken } from './support/jwks-server.js'

const CLAIMS = { iss: 'https://idp.example.com', aud: 'flink-guard', sub: 'alice' }
const dir = mkdtempSync(join(tmpdir(), 'fg-keyfiles-'))
const file = (name: string, text: string) => {
  const path = join(dir, name)
  writeFileSync(path, text)
  return path
}
const bearer = (token: string) => credentials({ authorization: `Bearer ${token}` })

const create = (keyFiles: string[]) =>
  JwtAuthenticator.create(configOf(JwtConfigSchema, { issuer: CLAIMS.iss, audience: CLAIMS.aud, keyFiles }), {
    logger: recordingLogger(),
  })

let rsa: SigningKey
let ec: SigningKey
beforeAll(async () => {
  rsa = await signingKey('rsa-1', 'RS256')
  ec = await signingKey('ec-1', 'ES256')
})

describe('JWT verification with static key files (air-gapped)', () => {
  it('verifies with a PEM public key, a JWKS file and an X.509 certificate, fetching nothing', async () => {
    const spki = createPublicKey({ key: rsa.publicJwk, format: 'jwk' }).export({
      type: 'spki',
      format: 'pem',
    })
    const jwks = JSON.stringify({ keys: [ec.publicJwk] })
    const certKey = await signingKey('cert-1', 'ES256')
    const keyPath = file('cert-key.pem', await exportPKCS8(certKey.privateKey))
    const certPem = execFileSync('openssl', [
      'req',
      '-x509',
      '-new',
      '-key',
      keyPath,
      '-subj',
      '/CN=idp-signing',
      '-days',
      '1',
      '-batch',
    ]).toString()
    const jwt = await create([
      file('rsa.pem', String(spki)),
      file('ec.jwks.json', jwks),
      file('idp.crt', certPem),
    ])
    expect(jwt.ready()).toEqual({ ok: true })
    for (const key of [rsa, ec, certKey]) {
      const outcome = await jwt.authenticate(bearer(await signToken(key, CLAIMS)))
      expect(outcome.kind, JSON.stringify(outcome)).toBe('accepted')
    }
    const stranger = await signingKey('rsa-1', 'RS256')
    expect(await jwt.authenticate(bearer(await signToken(stranger, CLAIMS)))).toMatchObject({
      kind: 'refused',
      reason: 'bad_signature',
    })
    await jwt.close()
  })

  it.each([
    ['a missing file', () => join(dir, 'missing.pem'), 'cannot read (ENOENT)'],
    [
      'a private key',
      async () => file('private.pem', await exportPKCS8(rsa.privateKey)),
      'holds a private key',
    ],
    ['no key at all', () => file('empty.pem', 'hello\n'), 'holds no PEM public key'],
    ['a symmetric JWK', () => file('oct.json', JSON.stringify({ kty: 'oct', k: 'c2VjcmV0' })), 'symmetric'],
  ])('refuses to start with %s, naming auth.jwt.keyFiles', async (_name, path, message) => {
    let error: unknown
    try {
      await create([await path()])
    } catch (err) {
      error = err
    }
    expect(error).toMatchObject({ code: 'FG_ERR_CONFIG_INVALID' })
    expect((error as Error).message).toContain('"auth.jwt.keyFiles"')
    expect((error as Error).message).toContain(message)
  })
})
