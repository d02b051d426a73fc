/**
 * Cost of one authenticate() call, with and without the verified-credential caches: an ES256 JWT checked
 * against static keys (no network), Basic credentials against a bcrypt cost-10 htpasswd entry, and an OIDC
 * session cookie (JWE A256GCM; one cookie, and a chunked one with many roles and a long refresh token).
 * Runs the authenticators directly, without HTTP, so the figures are the verification cost alone.
 *
 *   npx tsx bench/auth-micro.ts [--seconds 2]
 */
import { mkdtempSync, writeFileSync } from 'node:fs'
import { Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { hashSync } from '@node-rs/bcrypt'
import { Value } from '@sinclair/typebox/value'
import { exportJWK, generateKeyPair, SignJWT } from 'jose'
import type { Authenticator, Credentials } from '../src/auth/authenticator.js'
import { BasicAuthenticator } from '../src/auth/basic/authenticator.js'
import { type BasicConfig, BasicConfigSchema } from '../src/auth/basic/config.js'
import { JwtAuthenticator } from '../src/auth/jwt/authenticator.js'
import { type JwtConfig, JwtConfigSchema } from '../src/auth/jwt/config.js'
import { OidcAuthenticator } from '../src/auth/oidc/authenticator.js'
import { type OidcConfig, OidcConfigSchema } from '../src/auth/oidc/config.js'
import { parseCookieHeader } from '../src/auth/oidc/cookie-header.js'
import { SealedTokens } from '../src/auth/oidc/sealed-token.js'
import { nowSec, SessionCookie } from '../src/auth/oidc/session-cookie.js'

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '2' } } })
const budgetMs = Number(values.seconds) * 1000
const logger = { info() {}, warn() {}, error() {} }
const dir = mkdtempSync(join(tmpdir(), 'fg-bench-auth-'))
const socket = new Socket()
const credentials = (authorization: string): Credentials => ({
  headers: { authorization },
  socket,
  remoteAddress: '192.0.2.1',
})

/** Sequential calls for about `budgetMs` (at least 20): mean microseconds per call. */
async function measure(
  authenticator: Authenticator,
  request: Credentials,
): Promise<{ us: number; n: number }> {
  const first = await authenticator.authenticate(request)
  if (first.kind !== 'accepted') throw new Error(`not accepted: ${JSON.stringify(first)}`)
  const started = process.hrtime.bigint()
  let n = 0
  for (; n < 20 || Number(process.hrtime.bigint() - started) / 1e6 < budgetMs; n += 1) {
    await authenticator.authenticate(request)
  }
  return { us: Number(process.hrtime.bigint() - started) / 1e3 / n, n }
}

const rows: { case: string; us: number; n: number }[] = []

// ES256 JWT against a static JWKS file.
const { privateKey, publicKey } = await generateKeyPair('ES256')
const jwksFile = join(dir, 'jwks.json')
writeFileSync(
  jwksFile,
  JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'bench', alg: 'ES256' }] }),
)
const token = await new SignJWT({ iss: 'https://idp', aud: 'flink', sub: 'alice', groups: ['flink-admins'] })
  .setProtectedHeader({ alg: 'ES256', kid: 'bench' })
  .setIssuedAt()
  .setExpirationTime('1h')
  .sign(privateKey)
for (const [label, maxEntries] of [
  ['JWT ES256, cache off', 0],
  ['JWT ES256, cache hit', 10_000],
] as const) {
  const config = Value.Default(JwtConfigSchema, {
    issuer: 'https://idp',
    audience: 'flink',
    keyFiles: [jwksFile],
    tokenCache: { maxEntries },
  }) as JwtConfig
  const jwt = await JwtAuthenticator.create(config, { logger })
  rows.push({ case: label, ...(await measure(jwt, credentials(`Bearer ${token}`))) })
  await jwt.close()
}

// Basic against bcrypt cost 10.
const htpasswd = join(dir, 'users.htpasswd')
writeFileSync(htpasswd, `alice:${hashSync('wonderland', 10).replace(/^\$2b\$/, '$2y$')}\n`)
const loose = { maxFailuresPerUser: 1_000_000, maxFailuresPerAddress: 1_000_000, windowSec: 1 }
for (const [label, cacheTtlSec] of [
  ['Basic bcrypt-10, cache off', 0],
  ['Basic bcrypt-10, cache hit', 60],
] as const) {
  const config = Value.Default(BasicConfigSchema, { htpasswd, cacheTtlSec, throttle: loose }) as BasicConfig
  const basic = await BasicAuthenticator.create(config, { logger })
  const login = `Basic ${Buffer.from('alice:wonderland').toString('base64')}`
  rows.push({ case: label, ...(await measure(basic, credentials(login))) })
  await basic.close()
}

// OIDC session cookies (no provider needed: a valid session is opened, never refreshed).
const cookieSecret = 'bench-cookie-secret-0123456789abcdef0123'
const oidcConfig = Value.Default(OidcConfigSchema, {
  issuer: 'https://idp.example.com',
  clientId: 'flink',
  clientSecret: 'x',
  publicUrl: 'https://flink.example.com',
  cookieSecret,
}) as OidcConfig
const oidc = new OidcAuthenticator(oidcConfig, { logger })
const sessions = new SessionCookie(new SealedTokens(cookieSecret, 'session'), oidcConfig.sessionLifetimeSec)
for (const [label, roles, refreshTokenChars] of [
  ['OIDC session, 3 roles, 43-char refresh token', 3, 43],
  ['OIDC session, 200 roles, 900-char refresh token', 200, 900],
] as const) {
  const lines = await sessions.write(
    {
      subject: 'alice@example.com',
      roles: Array.from({ length: roles }, (_, i) => `flink-group-${i}`),
      expiresAt: nowSec() + 3_600,
      issuedAt: nowSec(),
      refreshToken: 'r'.repeat(refreshTokenChars),
    },
    new Map(),
  )
  const cookie = lines.map((line) => line.split(';')[0]).join('; ')
  const request: Credentials = { headers: { cookie }, socket, remoteAddress: '192.0.2.1' }
  // The decryption alone, through a SessionCookie that keeps nothing: what a cache miss costs.
  const uncached = new SessionCookie(new SealedTokens(cookieSecret, 'session'), 3_600, 0)
  const opener = {
    authenticate: async ({ headers }: Credentials) => {
      const read = await uncached.read(parseCookieHeader(headers.cookie))
      return read.kind === 'valid' ? { kind: 'accepted' } : read
    },
  } as unknown as Authenticator
  const size = `${lines.length} cookie(s), ${cookie.length} B`
  rows.push({ case: `${label} (${size}), cache off`, ...(await measure(opener, request)) })
  rows.push({ case: `${label} (${size}), cache hit`, ...(await measure(oidc, request)) })
}
await oidc.close()

const width = Math.max(...rows.map((row) => row.case.length))
process.stdout.write(
  `${'case'.padEnd(width)}  ${'µs/call'.padStart(10)}  ${'calls/s'.padStart(10)}  ${'n'.padStart(8)}\n`,
)
for (const row of rows) {
  process.stdout.write(
    `${row.case.padEnd(width)}  ${row.us.toFixed(1).padStart(10)}  ${Math.round(1e6 / row.us)
      .toString()
      .padStart(10)}  ${String(row.n).padStart(8)}\n`,
  )
}
process.stdout.write(`(node ${process.version}, one call at a time, ${values.seconds} s per case)\n`)
