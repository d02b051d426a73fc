import { Agent } from 'undici'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { SealedTokens } from '../../src/auth/oidc/sealed-token.js'
import { SessionCookie } from '../../src/auth/oidc/session-cookie.js'
import { type Standin, startStandin } from '../../src/standin/server.js'
import { BrowserClient, type BrowserResponse, loginAtProvider } from './support/browser-client.js'
import { freePort } from './support/free-port.js'
import { type DevProvider, startDevProvider } from './support/oidc-provider.js'
import { startProxy, type TestProxy } from './support/proxy.js'
import { fixture, readFixture } from './support/tls-client.js'

/**
 * Roles from the provider's userinfo endpoint: a real OpenID provider (oidc-provider) that, like many
 * providers, puts `groups` only in the userinfo answer and not in the ID token; the real proxy on TLS in
 * front of the stand-in. The provider's userinfo answers can be made to name another subject or fail.
 */

const CLIENT_ID = 'flink-guard'
const CLIENT_SECRET = 'client-secret-of-the-test-provider'
const SECRET = 'userinfo-cookie-secret-0123456789abcdef01'

const dispatcher = new Agent({ connect: { ca: readFixture('ca.pem') } })
let standin: Standin
let idp: DevProvider
let publicUrl: string
let port: number
/** What the provider's userinfo endpoint does: answer, name another subject, or fail with 503. */
let userinfoMode: 'answer' | 'other-subject' | 'down' = 'answer'
let userinfoCalls = 0
let idTokenGroups: unknown = 'not seen'

beforeAll(async () => {
  standin = await startStandin()
  port = await freePort()
  publicUrl = `https://localhost:${port}`
  idp = await startDevProvider({
    tls: { key: readFixture('rest.signed.pem'), cert: readFixture('rest.signed.pem') },
    clients: [{ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, publicUrl }],
    claimsInUserinfoOnly: true,
    configure: (provider) => {
      provider.use(async (ctx, next) => {
        if (ctx.path !== '/me') {
          await next()
          const idToken = (ctx.body as { id_token?: string } | undefined)?.id_token
          if (typeof idToken === 'string') {
            const payload = JSON.parse(Buffer.from(idToken.split('.')[1]!, 'base64url').toString('utf8'))
            idTokenGroups = payload.groups
          }
          return
        }
        userinfoCalls++
        if (userinfoMode === 'down') {
          ctx.status = 503
          ctx.body = 'maintenance'
          return
        }
        await next()
        if (userinfoMode === 'other-subject') (ctx.body as { sub: string }).sub = 'mallory'
      })
    },
  })
})
afterAll(async () => {
  await idp.close()
  await standin.close()
  await dispatcher.close()
})
beforeEach(() => {
  userinfoMode = 'answer'
  userinfoCalls = 0
  idTokenGroups = 'not seen'
})

async function withProxy(oidc: Record<string, unknown>, run: (proxy: TestProxy) => Promise<void>) {
  const proxy = await startProxy(standin.url, {
    listen: { host: '127.0.0.1', port },
    tls: { cert: fixture('rest.signed.pem'), key: fixture('rest.signed.pem') },
    auth: {
      oidc: {
        issuer: idp.issuer,
        clientId: CLIENT_ID,
        clientSecret: CLIENT_SECRET,
        publicUrl,
        cookieSecret: [SECRET],
        caFile: fixture('ca.pem'),
        scopes: ['openid', 'profile', 'email', 'groups'],
        ...oidc,
      },
    },
    authz: { roles: { 'flink-operators': 'operator', 'flink-viewers': 'viewer' } },
  })
  try {
    await run(proxy)
  } finally {
    await proxy.close(1_000)
  }
}

/** Logs `user` in through the provider; the callback's answer and the browser. */
async function logIn(user: string): Promise<{ browser: BrowserClient; back: BrowserResponse }> {
  const browser = new BrowserClient(dispatcher)
  const start = await browser.navigate(`${publicUrl}/`)
  const callbackUrl = await loginAtProvider(browser, start, user, publicUrl)
  const [back] = await browser.navigate(callbackUrl, { site: 'cross-site' }, publicUrl)
  return { browser, back: back! }
}

async function sessionRoles(browser: BrowserClient): Promise<readonly string[] | null> {
  const cookies = new Map([...browser.cookies(publicUrl)].map(([name, cookie]) => [name, cookie.value]))
  const read = await new SessionCookie(new SealedTokens(SECRET, 'session'), 3_600).read(cookies)
  return read.kind === 'valid' ? read.session.roles : null
}

const jobsOverview = (browser: BrowserClient) => browser.send(`${publicUrl}/jobs/overview`, { kind: 'xhr' })
const cancelAJob = (browser: BrowserClient) =>
  browser.send(`${publicUrl}/jobs/${'a'.repeat(32)}?mode=cancel`, {
    kind: 'xhr',
    method: 'PATCH',
    site: 'same-origin',
  })

describe('roles from userinfo', () => {
  it('reads the groups the ID token lacks from userinfo, once per login, and authorizes by them', async () => {
    await withProxy({}, async () => {
      const { browser, back } = await logIn('alice')
      expect(back.status).toBe(302)
      expect(idTokenGroups).toBeUndefined()
      expect(await sessionRoles(browser)).toEqual(['flink-operators'])
      expect(userinfoCalls).toBe(1)
      const viewerLogin = await logIn('bob')
      expect(await sessionRoles(viewerLogin.browser)).toEqual(['flink-viewers'])
      standin.record.reset()
      expect((await jobsOverview(browser)).status).toBe(200)
      expect((await cancelAJob(viewerLogin.browser)).status).toBe(403)
      expect((await cancelAJob(browser)).status).not.toBe(403)
      // The roles came with the session cookie: no request asked the provider again.
      expect(userinfoCalls).toBe(2)
      expect(standin.record.requests.filter((r) => r.method === 'PATCH')).toHaveLength(1)
    })
  })

  it('gives no roles with rolesFromUserinfo: never (the control: the roles above came from userinfo)', async () => {
    await withProxy({ rolesFromUserinfo: 'never' }, async () => {
      const { browser } = await logIn('alice')
      expect(await sessionRoles(browser)).toEqual([])
      expect(userinfoCalls).toBe(0)
      expect((await jobsOverview(browser)).status).toBe(403)
    })
  })

  it("refuses the login when userinfo names another subject than the ID token's: 401, no session", async () => {
    await withProxy({}, async (proxy) => {
      userinfoMode = 'other-subject'
      const { browser, back } = await logIn('alice')
      expect(back.status).toBe(401)
      expect(back.headers['x-flink-guard-error']).toBe('FG_ERR_AUTH_LOGIN_FAILED')
      expect(await sessionRoles(browser)).toBeNull()
      const failure = proxy.logs.filter((line) => line.code === 'FG_ERR_AUTH_LOGIN_FAILED').at(-1)
      expect(String(failure?.reason)).toMatch(/sub/i)
    })
  })

  it('answers a userinfo endpoint that is down with the provider-unavailable error, no session', async () => {
    await withProxy({}, async () => {
      userinfoMode = 'down'
      const { browser, back } = await logIn('alice')
      expect(back.status).toBe(503)
      expect(back.headers['x-flink-guard-error']).toBe('FG_ERR_AUTH_PROVIDER_UNAVAILABLE')
      expect(await sessionRoles(browser)).toBeNull()
      expect(userinfoCalls).toBe(1)
    })
  })
})
