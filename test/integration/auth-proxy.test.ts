import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { hashSync } from '@node-rs/bcrypt'
import { SignJWT } from 'jose'
import { request } from 'undici'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { FLINK_ROUTES } from '../../src/authz/routes.js'
import { type Standin, startStandin } from '../../src/standin/server.js'
import { eventually } from './support/eventually.js'
import {
  type JwksServer,
  type SigningKey,
  signingKey,
  signToken,
  startJwksServer,
} from './support/jwks-server.js'
import { startProxy, type TestProxy } from './support/proxy.js'
import { RawConnection } from './support/raw-http.js'

/**
 * Authentication through the real proxy: a real JWKS server, a real htpasswd file, the stand-in behind.
 * Every refusal is asserted with its status and code, and with the stand-in having seen nothing.
 */

const ISSUER = 'https://idp.example.com'
const AUDIENCE = 'flink-guard'
const PASSWORD = 'correct horse battery staple'

let standin: Standin
let jwks: JwksServer
let key: SigningKey
let proxy: TestProxy
let htpasswd: string

const token = (claims: Record<string, unknown> = {}, options: Parameters<typeof signToken>[2] = {}) =>
  signToken(
    key,
    { iss: ISSUER, aud: AUDIENCE, sub: 'alice', groups: ['flink-operators'], ...claims },
    options,
  )
const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`

async function get(path: string, headers: Record<string, string> = {}, method = 'GET') {
  const response = await request(`${proxy.proxyUrl}${path}`, { method: method as 'GET', headers })
  const text = await response.body.text()
  return { status: response.statusCode, headers: response.headers, body: text ? JSON.parse(text) : null }
}

beforeAll(async () => {
  standin = await startStandin()
  key = await signingKey('k1', 'ES256')
  jwks = await startJwksServer([key.publicJwk])
  const dir = mkdtempSync(join(tmpdir(), 'fg-auth-'))
  htpasswd = join(dir, 'users.htpasswd')
  const hash = hashSync(PASSWORD, 5).replace(/^\$2b\$/, '$2y$')
  writeFileSync(htpasswd, `bob:${hash}\nolga:${hash}\nada:${hash}\n`)
  proxy = await startProxy(standin.url, {
    auth: {
      jwt: { issuer: ISSUER, audience: AUDIENCE, jwksUri: jwks.jwksUri, rolesClaim: 'groups' },
      basic: {
        htpasswd,
        users: { bob: ['flink-viewers'], olga: ['flink-operators'], ada: ['flink-admins'] },
        throttle: { maxFailuresPerUser: 3 },
      },
    },
    authz: {
      roles: { 'flink-admins': 'admin', 'flink-operators': 'operator', 'flink-viewers': 'viewer' },
    },
    upstream: { identityHeaders: {} },
  })
})
afterAll(async () => {
  await proxy.close(1_000)
  await jwks.close()
  await standin.close()
})
beforeEach(() => standin.record.reset())

describe('no credential', () => {
  it('is a 401 naming every scheme, in Flink error shape, and nothing reaches Flink', async () => {
    const response = await get('/overview')
    expect(response.status).toBe(401)
    expect(response.body).toEqual({ errors: ['Authentication is required'] })
    expect(response.headers['x-flink-guard-error']).toBe('FG_ERR_AUTH_REQUIRED')
    expect(response.headers['www-authenticate']).toEqual([
      'Bearer realm="flink"',
      'Basic realm="flink", charset="UTF-8"',
    ])
    expect(standin.record.count).toBe(0)
  })

  it('refuses a token in the query string: only the Authorization header carries one', async () => {
    const response = await get(`/overview?access_token=${await token()}`)
    expect(response.status).toBe(401)
    expect(response.headers['x-flink-guard-error']).toBe('FG_ERR_AUTH_REQUIRED')
    expect(standin.record.count).toBe(0)
  })

  it('refuses an anonymous 500 MB upload at its headers, before a byte of the body', async () => {
    const connection = await RawConnection.open(proxy.proxyUrl)
    connection.write(
      'POST /jars/upload HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\n' +
        'Content-Length: 524288000\r\nExpect: 100-continue\r\n\r\n',
    )
    const response = await connection.readResponse()
    connection.close()
    expect(response.status).toBe(401)
    expect(response.head).not.toContain('100 Continue')
    expect(standin.record.count).toBe(0)
  })
})

describe('bearer tokens', () => {
  it('lets a valid token through as its subject, without forwarding the token to Flink', async () => {
    const response = await get('/overview', {
      authorization: `Bearer ${await token()}`,
      'x-forwarded-user': 'mallory',
    })
    expect(response.status).toBe(200)
    const seen = standin.record.last!.headers
    expect(seen.authorization).toBeUndefined()
    expect(seen['x-forwarded-user']).toBe('alice')
    expect(seen['x-forwarded-groups']).toBe('flink-operators')
  })

  it("maps the token's groups to a preset: an operator may cancel", async () => {
    const job = standin.state.addJob('cancel me', 'RUNNING')
    const response = await get(`/jobs/${job.id}`, { authorization: `Bearer ${await token()}` }, 'PATCH')
    expect(response.status).toBe(202)
    expect(job.state).toBe('CANCELED')
  })

  it.each([
    ['expired', () => token({}, { expiresInSec: -120 })],
    ['not yet valid', () => token({}, { notBeforeInSec: 600 })],
    ['from another issuer', () => token({ iss: 'https://evil.example' })],
    ['for another audience', () => token({ aud: 'someone-else' })],
    [
      'alg none',
      async () => `${b64({ alg: 'none', kid: 'k1' })}.${b64({ iss: ISSUER, aud: AUDIENCE, sub: 'x' })}.`,
    ],
    ['malformed base64', async () => 'eyJ!!!.eyJ???.sig'],
    [
      'signed by a foreign key with our kid',
      async () => signToken(await signingKey('k1', 'ES256'), { iss: ISSUER, aud: AUDIENCE, sub: 'x' }),
    ],
  ])('refuses a token %s with 401 invalid_token, and nothing reaches Flink', async (_name, make) => {
    const response = await get('/overview', { authorization: `Bearer ${await make()}` })
    expect(response.status).toBe(401)
    expect(response.headers['x-flink-guard-error']).toBe('FG_ERR_AUTH_INVALID_TOKEN')
    expect(response.headers['www-authenticate']).toContain('Bearer realm="flink", error="invalid_token"')
    expect(standin.record.count).toBe(0)
  })

  it('refuses HS256 signed with the public key as secret (algorithm confusion)', async () => {
    const forged = await new SignJWT({
      iss: ISSUER,
      aud: AUDIENCE,
      sub: 'mallory',
      groups: ['flink-operators'],
    })
      .setProtectedHeader({ alg: 'HS256', kid: 'k1' })
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode(JSON.stringify(key.publicJwk)))
    const response = await get('/overview', { authorization: `Bearer ${forged}` })
    expect(response.status).toBe(401)
    expect(response.headers['x-flink-guard-error']).toBe('FG_ERR_AUTH_INVALID_TOKEN')
    expect(standin.record.count).toBe(0)
  })

  it('never fetches keys named by the token (jku, x5u): the attacker JWKS gets no request', async () => {
    const evilKey = await signingKey('evil', 'ES256')
    const attacker = await startJwksServer([evilKey.publicJwk])
    try {
      const forged = await signToken(
        evilKey,
        { iss: ISSUER, aud: AUDIENCE, sub: 'mallory' },
        { header: { jku: attacker.jwksUri, x5u: `${attacker.url}/cert.pem` } },
      )
      const response = await get('/overview', { authorization: `Bearer ${forged}` })
      expect(response.status).toBe(401)
      expect(attacker.hits).toBe(0)
      expect(standin.record.count).toBe(0)
    } finally {
      await attacker.close()
    }
  })

  it('refuses an unknown kid while the JWKS endpoint is down, and keeps accepting known keys', async () => {
    jwks.down = true
    try {
      const stranger = await signToken(await signingKey('k-new', 'ES256'), {
        iss: ISSUER,
        aud: AUDIENCE,
        sub: 'x',
      })
      const refused = await get('/overview', { authorization: `Bearer ${stranger}` })
      expect(refused.status).toBe(401)
      expect(refused.headers['x-flink-guard-error']).toBe('FG_ERR_AUTH_INVALID_TOKEN')
      expect(standin.record.count).toBe(0)
      expect(
        (await get('/overview', { authorization: `Bearer ${await token({ sub: 'still-ok' })}` })).status,
      ).toBe(200)
    } finally {
      jwks.down = false
    }
  })

  it('accepts the exact wire form of FLINK_REST_CLIENT_HEADERS (Name:Value, no space)', async () => {
    const connection = await RawConnection.open(proxy.proxyUrl)
    connection.write(
      `GET /jobs/overview HTTP/1.1\r\nHost: x\r\nAuthorization:Bearer ${await token()}\r\nConnection: close\r\n\r\n`,
    )
    const response = await connection.readResponse()
    connection.close()
    expect(response.status).toBe(200)
    expect(standin.record.count).toBe(1)
  })

  it('is never a fall-through: a bad token next to good basic credentials is still refused', async () => {
    // One Authorization header per request: the scheme it names decides, here a bad bearer token.
    const response = await get('/overview', { authorization: 'Bearer not-a-token' })
    expect(response.status).toBe(401)
    expect(standin.record.count).toBe(0)
  })
})

describe('basic credentials', () => {
  it('lets bob in as a viewer, and refuses him an action', async () => {
    expect((await get('/overview', { authorization: basic('bob', PASSWORD) })).status).toBe(200)
    const denied = await get('/cluster', { authorization: basic('bob', PASSWORD) }, 'DELETE')
    expect(denied.status).toBe(403)
    expect(standin.record.count).toBe(1)
  })

  it('accepts the CLI header form with basic credentials too', async () => {
    const connection = await RawConnection.open(proxy.proxyUrl)
    connection.write(
      `GET /overview HTTP/1.1\r\nHost: x\r\nAuthorization:${basic('bob', PASSWORD)}\r\nConnection: close\r\n\r\n`,
    )
    expect((await connection.readResponse()).status).toBe(200)
    connection.close()
  })

  it.each([
    ['a wrong password', basic('bob', 'guess')],
    ['an unknown user', basic('nobody', PASSWORD)],
    ['a malformed header', 'Basic %%%'],
  ])('refuses %s with 401, and nothing reaches Flink', async (_name, header) => {
    const response = await get('/overview', { authorization: header })
    expect(response.status).toBe(401)
    expect(response.headers['x-flink-guard-error']).toBe('FG_ERR_AUTH_BAD_CREDENTIALS')
    expect(response.headers['www-authenticate']).toContain('Basic realm="flink", charset="UTF-8"')
    expect(standin.record.count).toBe(0)
  })

  it('logs why a login failed (the reason word, the claimed user, never the password), and the access line names the user who got in', async () => {
    const cases = [
      { header: basic('olga', 'not-her-password'), method: 'basic', reason: 'bad_password', user: 'olga' },
      { header: basic('nobody', PASSWORD), method: 'basic', reason: 'unknown_user', user: 'nobody' },
      {
        header: `Bearer ${await token({}, { expiresInSec: -600 })}`,
        method: 'jwt',
        reason: 'expired',
      },
      { header: `Bearer ${await token({ aud: 'another-service' })}`, method: 'jwt', reason: 'bad_audience' },
    ]
    for (const { header, method, reason, user } of cases) {
      const response = await get('/overview', { authorization: header })
      expect(response.status).toBe(401)
      const lines = proxy.logs.filter((line) => line.reqId === response.headers['x-request-id'])
      const refused = lines.find((line) => line.msg === 'authentication refused')
      expect(refused).toMatchObject({ level: 40, method, reason, remoteAddress: '127.0.0.1' })
      expect(refused?.user).toBe(user)
      expect(lines.find((line) => line.msg === 'request completed')).toMatchObject({
        status: 401,
        user: null,
      })
    }
    expect(proxy.rawLogs.join('\n')).not.toContain('not-her-password')
    expect(proxy.rawLogs.join('\n')).not.toContain(PASSWORD)

    const ok = await get('/overview', { authorization: basic('bob', PASSWORD) })
    const access = proxy.logs.find(
      (line) => line.reqId === ok.headers['x-request-id'] && line.msg === 'request completed',
    )
    expect(access).toMatchObject({ status: 200, user: 'bob' })
  })

  it('throttles a brute-force burst with 429 and Retry-After', async () => {
    const statuses: number[] = []
    let retryAfter: string | string[] | undefined
    for (let i = 0; i < 6; i++) {
      const response = await get('/overview', { authorization: basic('carol', `guess-${i}`) })
      statuses.push(response.status)
      if (response.status === 429) retryAfter = response.headers['retry-after']
    }
    expect(statuses.slice(0, 3)).toEqual([401, 401, 401])
    expect(statuses.slice(3)).toEqual([429, 429, 429])
    expect(Number(retryAfter)).toBeGreaterThan(0)
    expect(standin.record.count).toBe(0)
  })
})

describe('cross-site requests with credentials a browser sends by itself', () => {
  /** The Flink CLI's cancel: PATCH /jobs/<id>?mode=cancel with Basic credentials, no browser headers. */
  const cancel = (jobId: string, authorization: string, headers: Record<string, string> = {}) =>
    get(`/jobs/${jobId}?mode=cancel`, { authorization, ...headers }, 'PATCH')
  const olga = basic('olga', PASSWORD)

  it('lets the CLI-style PATCH with Basic credentials cancel a job (no Fetch Metadata, no Origin)', async () => {
    const job = standin.state.addJob('cancelled by the CLI', 'RUNNING')
    expect((await cancel(job.id, olga)).status).toBe(202)
    expect(job.state).toBe('CANCELED')
  })

  it.each([
    ['Sec-Fetch-Site: cross-site', { 'sec-fetch-site': 'cross-site' }],
    ['Sec-Fetch-Site: same-site (a sibling host)', { 'sec-fetch-site': 'same-site' }],
    ['a foreign Origin', { origin: 'https://evil.example' }],
    ['Origin: null (a sandboxed page)', { origin: 'null' }],
    ['an Origin of another port of this host', { origin: 'http://127.0.0.1:1' }],
  ])(
    'refuses the same PATCH with %s: 403, the job still RUNNING, nothing forwarded',
    async (_name, headers) => {
      const job = standin.state.addJob('must keep running', 'RUNNING')
      const response = await cancel(job.id, olga, headers)
      expect(response.status).toBe(403)
      expect(response.headers['x-flink-guard-error']).toBe('FG_ERR_AUTH_CROSS_SITE')
      expect(job.state).toBe('RUNNING')
      expect(standin.record.count).toBe(0)
    },
  )

  it("refuses Flink's acting GET (yarn-cancel) from another site with Basic credentials, lets cross-site reads through", async () => {
    const job = standin.state.addJob('must keep running too', 'RUNNING')
    const acting = await get(`/jobs/${job.id}/yarn-cancel`, {
      authorization: olga,
      'sec-fetch-site': 'cross-site',
    })
    expect(acting.status).toBe(403)
    expect(job.state).toBe('RUNNING')
    expect(standin.record.count).toBe(0)
    const read = await get('/jobs/overview', { authorization: olga, 'sec-fetch-site': 'cross-site' })
    expect(read.status).toBe(200)
  })

  // Every row flagged actingGet (routes.ts), filled with ids of the right shape; ada is an admin, so only the
  // cross-site rule stands between her browser and the route.
  const SAMPLE_IDS: Record<string, string> = {
    jobid: '0123456789abcdef0123456789abcdef',
    vertexid: 'cbc357ccb763df2852fee8c4fc7d55f2',
    jarid: 'c4b6a2c0-3f7e-4e2b-9d7a-1f2e3d4c5b6a_job.jar',
  }
  const actingPaths = FLINK_ROUTES.filter((route) => route.actingGet).map((route) =>
    route.template.replaceAll(/:([A-Za-z]+)/g, (_, name: string) => SAMPLE_IDS[name]!),
  )

  it.each(actingPaths)(
    'refuses the acting GET %s from another site for an admin (Basic), and forwards it from none',
    async (path) => {
      const ada = basic('ada', PASSWORD)
      const signals: Record<string, string>[] = [
        { 'sec-fetch-site': 'cross-site' },
        { origin: 'https://evil.example' },
      ]
      for (const headers of signals) {
        const refused = await get(path, { authorization: ada, ...headers })
        expect(refused.status).toBe(403)
        expect(refused.headers['x-flink-guard-error']).toBe('FG_ERR_AUTH_CROSS_SITE')
      }
      const head = await request(`${proxy.proxyUrl}${path}`, {
        method: 'HEAD',
        headers: { authorization: ada, 'sec-fetch-site': 'cross-site' },
      })
      await head.body.dump()
      expect(head.statusCode).toBe(403)
      expect(standin.record.count).toBe(0)
      await request(`${proxy.proxyUrl}${path}`, { headers: { authorization: ada } }).then((r) =>
        r.body.dump(),
      )
      expect(standin.record.count).toBe(1)
    },
  )

  it("allows the dashboard's own request: same-origin Fetch Metadata and an Origin equal to the proxy's", async () => {
    const job = standin.state.addJob('cancelled from the dashboard', 'RUNNING')
    const own = new URL(proxy.proxyUrl).origin
    const response = await cancel(job.id, olga, { 'sec-fetch-site': 'same-origin', origin: own })
    expect(response.status).toBe(202)
    expect(job.state).toBe('CANCELED')
  })

  it('keeps bearer tokens exempt: no browser attaches one on its own', async () => {
    const job = standin.state.addJob('cancelled by a token', 'RUNNING')
    const response = await cancel(job.id, `Bearer ${await token()}`, {
      'sec-fetch-site': 'cross-site',
      origin: 'https://evil.example',
    })
    expect(response.status).toBe(202)
    expect(job.state).toBe('CANCELED')
  })

  it('trusts an origin allowed credentialed CORS calls (responses.cors), and only that one', async () => {
    const portal = 'https://portal.example.com'
    const withCors = await startProxy(standin.url, {
      auth: { basic: { htpasswd, users: { olga: ['flink-operators'] } } },
      authz: { roles: { 'flink-operators': 'operator' } },
      responses: { cors: { allowedOrigins: [portal], allowCredentials: true } },
    })
    try {
      const cancelVia = async (jobId: string, origin: string) => {
        const response = await request(`${withCors.proxyUrl}/jobs/${jobId}?mode=cancel`, {
          method: 'PATCH',
          headers: { authorization: olga, origin, 'sec-fetch-site': 'cross-site' },
        })
        await response.body.dump()
        return response
      }
      const fromPortal = standin.state.addJob('cancelled from the portal', 'RUNNING')
      const allowed = await cancelVia(fromPortal.id, portal)
      expect(allowed.statusCode).toBe(202)
      expect(allowed.headers['access-control-allow-credentials']).toBe('true')
      expect(fromPortal.state).toBe('CANCELED')
      const fromElsewhere = standin.state.addJob('must keep running', 'RUNNING')
      expect((await cancelVia(fromElsewhere.id, 'https://evil.example')).statusCode).toBe(403)
      expect(fromElsewhere.state).toBe('RUNNING')
    } finally {
      await withCors.close(1_000)
    }
  })
})

describe('readiness of key sources', () => {
  it('/readyz/strict is 503 naming the JWKS while the IdP is unreachable at start (/readyz only warns), and 200 once keys arrive', async () => {
    const idp = await startJwksServer([key.publicJwk])
    idp.down = true
    const late = await startProxy(standin.url, {
      auth: { jwt: { issuer: ISSUER, audience: AUDIENCE, jwksUri: idp.jwksUri } },
      authz: { roles: { '*': 'viewer' } },
    })
    try {
      const notReady = await request(`${late.adminUrl}/readyz/strict`)
      expect(notReady.statusCode).toBe(503)
      expect(JSON.stringify(await notReady.body.json())).toContain('auth.jwt')
      const lenient = await request(`${late.adminUrl}/readyz`)
      expect(lenient.statusCode).toBe(200)
      expect(await lenient.body.json()).toMatchObject({ warnings: [expect.stringContaining('auth.jwt')] })
      idp.down = false
      await eventually(async () => {
        const ready = await request(`${late.adminUrl}/readyz/strict`)
        await ready.body.dump()
        return ready.statusCode === 200
      }, 15_000)
    } finally {
      await late.close(1_000)
      await idp.close()
    }
  }, 20_000)
})

function b64(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url')
}
