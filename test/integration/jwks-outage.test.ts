import { randomUUID } from 'node:crypto'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Standin, startStandin } from '../../src/standin/server.js'
import { eventually } from './support/eventually.js'
import { freePort } from './support/free-port.js'
import {
  type JwksServer,
  type SigningKey,
  signingKey,
  signToken,
  startJwksServer,
} from './support/jwks-server.js'
import { startProxy, type TestProxy } from './support/proxy.js'

/**
 * The JWKS endpoint gone (its listener closed, as a crashed IdP) under a running proxy, and absent at its
 * start: keys held keep verifying fresh tokens, a token whose key cannot be fetched is a 503 a client may
 * retry (never the 401 of a bad token), and the proxy recovers on its own when the endpoint returns.
 */

const ISSUER = 'https://idp.example'
const AUDIENCE = 'flink-guard'
const claims = (sub: string) => ({
  iss: ISSUER,
  aud: AUDIENCE,
  sub,
  groups: ['flink-viewers'],
  jti: randomUUID(),
})

let standin: Standin
let oldKey: SigningKey
let newKey: SigningKey
beforeAll(async () => {
  standin = await startStandin()
  oldKey = await signingKey('k-old')
  newKey = await signingKey('k-new')
})
afterAll(async () => {
  await standin.close()
})

async function withToken(proxy: TestProxy, token: string) {
  const response = await request(`${proxy.proxyUrl}/overview`, {
    headers: { authorization: `Bearer ${token}` },
  })
  await response.body.dump()
  return {
    status: response.statusCode,
    code: response.headers['x-flink-guard-error'],
    retryAfter: response.headers['retry-after'],
  }
}

const jwtProxy = (jwksUri: string) =>
  startProxy(standin.url, {
    auth: {
      jwt: { issuer: ISSUER, audience: AUDIENCE, jwksUri, rolesClaim: 'groups', jwksRefetchCooldownSec: 0 },
    },
    authz: { roles: { 'flink-viewers': 'viewer' } },
  })

describe('the JWKS endpoint going down during a run', () => {
  it('keeps verifying with the keys held, answers a key it cannot fetch 503, and recovers without a restart', async () => {
    let idp: JwksServer = await startJwksServer([oldKey.publicJwk])
    const port = Number(new URL(idp.url).port)
    const proxy = await jwtProxy(idp.jwksUri)
    try {
      expect((await withToken(proxy, await signToken(oldKey, claims('alice')))).status).toBe(200)
      await idp.close()

      // A fresh token (never seen, so not cached) signed with a held key still verifies.
      expect((await withToken(proxy, await signToken(oldKey, claims('bob')))).status).toBe(200)
      // A token of a key the proxy would have to fetch: the IdP's outage, said so, with Retry-After.
      const rotated = await signToken(newKey, claims('carol'))
      expect(await withToken(proxy, rotated)).toEqual({
        status: 503,
        code: 'FG_ERR_AUTH_PROVIDER_UNAVAILABLE',
        retryAfter: '5',
      })
      // The outage spends no client's failed-request budget.
      for (let i = 0; i < 70; i += 1) expect((await withToken(proxy, rotated)).status).toBe(503)

      // Back on its port with the rotated key: the next token of it is fetched and served.
      idp = await startJwksServer([oldKey.publicJwk, newKey.publicJwk], port)
      expect((await withToken(proxy, rotated)).status).toBe(200)
      expect((await withToken(proxy, await signToken(oldKey, claims('dave')))).status).toBe(200)
    } finally {
      await proxy.close(1_000)
      await idp.close()
    }
  })
})

describe('the JWKS endpoint down when the proxy starts', () => {
  it('starts, answers tokens 503 until keys arrive, then serves them', async () => {
    const port = await freePort()
    const proxy = await jwtProxy(`http://127.0.0.1:${port}/jwks.json`)
    let idp: JwksServer | null = null
    try {
      const token = await signToken(oldKey, claims('alice'))
      expect(await withToken(proxy, token)).toMatchObject({
        status: 503,
        code: 'FG_ERR_AUTH_PROVIDER_UNAVAILABLE',
      })
      idp = await startJwksServer([oldKey.publicJwk], port)
      await eventually(async () => (await withToken(proxy, token)).status === 200, 5_000)
    } finally {
      await proxy.close(1_000)
      await idp?.close()
    }
  })
})
