import { decodeJwt, decodeProtectedHeader, generateKeyPair, SignJWT } from 'jose'
import * as client from 'openid-client'
import { Agent, request, fetch as undiciFetch } from 'undici'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { LoginTransactionCookie } from '../../src/auth/oidc/login-transaction.js'
import { SealedTokens } from '../../src/auth/oidc/sealed-token.js'
import { nowSec, type Session, SessionCookie } from '../../src/auth/oidc/session-cookie.js'
import { type Standin, startStandin } from '../../src/standin/server.js'
import { BrowserClient, type BrowserResponse, loginAtProvider } from './support/browser-client.js'
import { freePort } from './support/free-port.js'
import { type DevProvider, startDevProvider } from './support/oidc-provider.js'
import { startProxy, type TestProxy } from './support/proxy.js'
import { fixture, readFixture } from './support/tls-client.js'

/**
 * OIDC login through the real proxy: a real OpenID provider (oidc-provider, HTTPS, its own login and consent
 * pages), the stand-in behind, a cookie-jar client over real sockets following redirects by hand. Every
 * refusal is asserted with its status and code, and with the stand-in having seen nothing.
 */

const CLIENT_ID = 'flink-guard'
const CLIENT_SECRET = 'client-secret-of-the-test-provider'
const SECRET = 'first-cookie-secret-0123456789abcdef0123'
const NEW_SECRET = 'second-cookie-secret-0123456789abcdef012'
const OTHER_SECRET = 'unrelated-cookie-secret-0123456789abcdef'
const SESSION_LIFETIME_SEC = 3_600

const dispatcher = new Agent({ connect: { ca: readFixture('ca.pem') } })
let standin: Standin
let idp: DevProvider
let proxy: TestProxy
let publicUrl: string
let forgeIdTokens = false

const oidcConfig = (overrides: Record<string, unknown> = {}) => ({
  issuer: idp.issuer,
  clientId: CLIENT_ID,
  clientSecret: CLIENT_SECRET,
  publicUrl,
  cookieSecret: [SECRET],
  caFile: fixture('ca.pem'),
  scopes: ['openid', 'profile', 'email', 'groups'],
  sessionLifetimeSec: SESSION_LIFETIME_SEC,
  ...overrides,
})

/** The proxy with TLS (a certificate for localhost from the test CA) and OIDC only. */
const startOidcProxy = (port: number, oidc: Record<string, unknown> = {}) =>
  startProxy(standin.url, {
    listen: { host: '127.0.0.1', port },
    tls: { cert: fixture('rest.signed.pem'), key: fixture('rest.signed.pem') },
    auth: { oidc: oidcConfig(oidc) },
    authz: { roles: { 'flink-operators': 'operator', 'flink-viewers': 'viewer' } },
  })

beforeAll(async () => {
  standin = await startStandin()
  const port = await freePort()
  publicUrl = `https://localhost:${port}`
  idp = await startDevProvider({
    tls: { key: readFixture('rest.signed.pem'), cert: readFixture('rest.signed.pem') },
    clients: [{ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, publicUrl }],
    configure: (provider) => {
      provider.on('grant.success', (ctx) => {
        ctx.state.grantType = ctx.oidc.params?.grant_type
      })
      // While forgeIdTokens is set, the ID token of a code exchange is re-signed with a key not in the JWKS.
      provider.use(async (ctx, next) => {
        await next()
        const body = ctx.body as { id_token?: string } | undefined
        if (!forgeIdTokens || ctx.state.grantType !== 'authorization_code' || !body?.id_token) return
        const header = decodeProtectedHeader(body.id_token)
        const { privateKey } = await generateKeyPair(header.alg!)
        body.id_token = await new SignJWT(decodeJwt(body.id_token))
          .setProtectedHeader(header as { alg: string })
          .sign(privateKey)
      })
    },
  })
  proxy = await startOidcProxy(port)
})
afterAll(async () => {
  await proxy.close(1_000)
  await idp.close()
  await standin.close()
  await dispatcher.close()
})
beforeEach(() => standin.record.reset())

const sessionTokens = (secret = SECRET) => new SealedTokens(secret, 'session')
const sessionCookie = (secret = SECRET) => new SessionCookie(sessionTokens(secret), SESSION_LIFETIME_SEC)
const cookieNamed = (response: BrowserResponse, name: string) =>
  response.setCookies.find((line) => line.startsWith(`${name}=`))
const json = (response: BrowserResponse) => JSON.parse(response.body) as Record<string, unknown>
const refusalOf = (response: BrowserResponse) => response.headers['x-flink-guard-error']
/** Why the proxy refused the last login, as it logged it. */
const lastLoginFailure = () =>
  proxy.logs.filter((line) => line.code === 'FG_ERR_AUTH_LOGIN_FAILED').at(-1)?.reason as string | undefined

/** A new browser that opened `path`, logged in at the provider as `user`, and came back with a session. */
async function loggedIn(user: string, path = '/') {
  const browser = new BrowserClient(dispatcher)
  const start = await browser.navigate(`${publicUrl}${path}`)
  const callbackUrl = await loginAtProvider(browser, start, user, publicUrl)
  const back = await browser.navigate(callbackUrl, { site: 'cross-site' })
  // The landing page reached the stand-in; what each test asserts starts after it.
  standin.record.reset()
  return { browser, start, callbackUrl, back }
}

/** The session in the browser's jar, opened with the proxy's secret (the test owns it). */
async function sessionOf(browser: BrowserClient): Promise<Session> {
  const cookies = new Map([...browser.cookies(publicUrl)].map(([name, cookie]) => [name, cookie.value]))
  const read = await sessionCookie().read(cookies)
  if (read.kind !== 'valid') throw new Error(`no valid session in the jar: ${read.kind}`)
  return read.session
}

/** Replaces the browser's session cookies with `session` sealed by `secret`. */
async function putSession(browser: BrowserClient, session: Session, secret = SECRET): Promise<void> {
  const jar = browser.cookies(publicUrl)
  for (const name of [...jar.keys()]) if (name.startsWith('__Host-fg_session.')) jar.delete(name)
  for (const line of await sessionCookie(secret).write(session, new Map())) {
    const [pair = ''] = line.split(';')
    const equals = pair.indexOf('=')
    jar.set(pair.slice(0, equals), { value: pair.slice(equals + 1), path: '/' })
  }
}

const xhr = (browser: BrowserClient, path: string, options: Parameters<BrowserClient['send']>[1] = {}) =>
  browser.send(`${publicUrl}${path}`, { kind: 'xhr', ...options })

describe('login', () => {
  it('takes the dashboard URL through the provider and back to the same path, then serves the dashboard and its API calls', async () => {
    const { start, callbackUrl, back, browser } = await loggedIn('alice', '/index.html?view=jobs')

    // 1. The page load without a session is sent to the provider: code flow, PKCE S256, state, nonce.
    const toProvider = start[0]!
    expect(toProvider.status).toBe(302)
    const authorize = new URL(toProvider.headers.location as string)
    expect(authorize.origin).toBe(idp.issuer)
    expect(Object.fromEntries(authorize.searchParams)).toMatchObject({
      client_id: CLIENT_ID,
      response_type: 'code',
      redirect_uri: `${publicUrl}/oauth2/callback`,
      scope: 'openid profile email groups',
      code_challenge_method: 'S256',
    })
    for (const param of ['state', 'nonce', 'code_challenge']) {
      expect(authorize.searchParams.get(param)).toMatch(/^[A-Za-z0-9_-]{43,}$/)
    }
    expect(cookieNamed(toProvider, '__Host-fg_login')).toMatch(
      /; Path=\/; Max-Age=600; Secure; HttpOnly; SameSite=Lax$/,
    )

    // 2. The provider's login and consent pages came back to the callback with code and state.
    expect(new URL(callbackUrl).pathname).toBe('/oauth2/callback')
    expect(new URL(callbackUrl).searchParams.get('state')).toBe(authorize.searchParams.get('state'))

    // 3. The callback sets the session and restores the original path; the login cookie is spent.
    const callback = back[0]!
    expect(callback.status).toBe(302)
    expect(callback.headers.location).toBe('/index.html?view=jobs')
    expect(callback.headers['cache-control']).toBe('no-store')
    expect(cookieNamed(callback, '__Host-fg_session.0')).toMatch(
      /; Path=\/; Max-Age=\d+; Secure; HttpOnly; SameSite=Lax$/,
    )
    expect(cookieNamed(callback, '__Host-fg_login')).toMatch(/^__Host-fg_login=; Path=\/; Max-Age=0;/)

    // 4. The dashboard page, then the JSON calls it makes.
    const page = back[back.length - 1]!
    expect(page.status).toBe(200)
    expect(page.headers['content-type']).toMatch(/^text\/html/)
    for (const path of ['/config', '/overview', '/jobs/overview']) {
      const response = await xhr(browser, path)
      expect(response.status, path).toBe(200)
      expect(response.headers['content-type']).toMatch(/^application\/json/)
    }
    const session = await sessionOf(browser)
    expect(session.subject).toBe('alice')
    expect(session.roles).toEqual(['flink-operators'])
    expect(session.refreshToken).not.toBeNull()
  })

  it("never forwards the proxy's cookies to Flink, and keeps the user's other cookies", async () => {
    const { browser } = await loggedIn('bob')
    browser.cookies(publicUrl).set('theme', { value: 'dark', path: '/' })
    standin.record.reset()
    const response = await xhr(browser, '/overview')
    expect(response.status).toBe(200)
    expect(standin.record.count).toBe(1)
    expect(standin.record.last!.headers.cookie).toBe('theme=dark')
    for (const recorded of standin.record.requests) expect(recorded.headers.cookie ?? '').not.toMatch(/fg_/)
  })

  it('answers XHRs and API clients without a session with a 401 in Flink error shape, never a redirect or HTML', async () => {
    const browser = new BrowserClient(dispatcher)
    const cases: Parameters<BrowserClient['send']>[1][] = [
      { kind: 'xhr' },
      // An older XHR that asks for HTML but says it is an XHR.
      { kind: 'navigate', headers: { 'x-requested-with': 'XMLHttpRequest', 'sec-fetch-mode': '' } },
      // curl: no Accept for HTML, no Fetch Metadata.
      { kind: 'xhr', headers: { accept: '*/*', 'sec-fetch-mode': '', 'sec-fetch-site': '' } },
      // A POST navigation (a form) is not sent to log in either.
      { kind: 'navigate', method: 'POST' },
    ]
    for (const options of cases) {
      const response = await browser.send(`${publicUrl}/jobs/overview`, options)
      expect(response.status, JSON.stringify(options)).toBe(401)
      expect(response.headers.location).toBeUndefined()
      expect(response.headers['content-type']).toMatch(/^application\/json/)
      expect(json(response)).toEqual({ errors: ['Authentication is required'] })
      expect(refusalOf(response)).toBe('FG_ERR_AUTH_REQUIRED')
    }
    expect(standin.record.count).toBe(0)
  })

  it('accepts a bearer token from the same provider (no auth.jwt: audience = clientId) and no cross-site rule applies to it', async () => {
    const idToken = await providerIdToken('alice')
    const job = standin.state.addJob('cancel by token', 'RUNNING')
    const response = await request(`${publicUrl}/jobs/${job.id}/yarn-cancel`, {
      dispatcher,
      headers: { authorization: `Bearer ${idToken}`, 'sec-fetch-site': 'cross-site' },
    })
    expect(response.statusCode).toBe(202)
    await response.body.dump()
    expect(job.state).toBe('CANCELED')
  })
})

describe('refresh', () => {
  it('refreshes a session past its expiry on the request and sets the new cookie', async () => {
    const { browser } = await loggedIn('alice')
    const session = await sessionOf(browser)
    await putSession(browser, { ...session, expiresAt: nowSec() - 5 })
    standin.record.reset()
    const response = await xhr(browser, '/jobs/overview')
    expect(response.status).toBe(200)
    expect(standin.record.count).toBe(1)
    expect(cookieNamed(response, '__Host-fg_session.0')).toMatch(
      /; Path=\/; Max-Age=\d+; Secure; HttpOnly; SameSite=Lax$/,
    )
    const renewed = await sessionOf(browser)
    expect(renewed.subject).toBe('alice')
    expect(renewed.expiresAt).toBeGreaterThan(nowSec() + 60)
    // The next request uses the new cookie as is.
    const next = await xhr(browser, '/overview')
    expect(next.status).toBe(200)
    expect(next.setCookies).toEqual([])
  })

  it('also refreshes within 60 s of the expiry (of a token that lived an hour)', async () => {
    const { browser } = await loggedIn('alice')
    await putSession(browser, {
      ...(await sessionOf(browser)),
      issuedAt: nowSec() - 3_570,
      expiresAt: nowSec() + 30,
    })
    const response = await xhr(browser, '/overview')
    expect(response.status).toBe(200)
    expect(cookieNamed(response, '__Host-fg_session.0')).toBeDefined()
    expect((await sessionOf(browser)).expiresAt).toBeGreaterThan(nowSec() + 60)
  })

  it('ends the session when the provider refuses the refresh token (revoked): 401 and the cookie deleted', async () => {
    const { browser } = await loggedIn('alice')
    const session = await sessionOf(browser)
    await revoke(session.refreshToken!)
    await putSession(browser, { ...session, expiresAt: nowSec() - 5 })
    standin.record.reset()
    const response = await xhr(browser, '/overview')
    expect(response.status).toBe(401)
    expect(refusalOf(response)).toBe('FG_ERR_AUTH_SESSION_INVALID')
    expect(cookieNamed(response, '__Host-fg_session.0')).toMatch(
      /^__Host-fg_session\.0=; Path=\/; Max-Age=0;/,
    )
    expect(browser.cookies(publicUrl).has('__Host-fg_session.0')).toBe(false)
    expect(standin.record.count).toBe(0)
  })

  it('lets a session still valid live out its last seconds when its refresh is refused, leaving the cookie alone (another replica may just have rotated the token)', async () => {
    const { browser } = await loggedIn('alice')
    const session = await sessionOf(browser)
    await revoke(session.refreshToken!)
    await putSession(browser, { ...session, issuedAt: nowSec() - 3_570, expiresAt: nowSec() + 30 })
    standin.record.reset()
    const response = await xhr(browser, '/overview')
    expect(response.status).toBe(200)
    expect(response.setCookies).toEqual([])
    expect(standin.record.count).toBe(1)
    // Past its expiry, the same session ends.
    await putSession(browser, { ...(await sessionOf(browser)), expiresAt: nowSec() - 1 })
    expect((await xhr(browser, '/overview')).status).toBe(401)
  })

  it('sends a page load whose refresh is refused to log in again, deleting the dead session', async () => {
    const { browser } = await loggedIn('alice')
    await putSession(browser, {
      ...(await sessionOf(browser)),
      refreshToken: 'not-a-refresh-token',
      expiresAt: nowSec() - 5,
    })
    const response = await browser.send(`${publicUrl}/`)
    expect(response.status).toBe(302)
    expect(new URL(response.headers.location as string).origin).toBe(idp.issuer)
    expect(cookieNamed(response, '__Host-fg_session.0')).toMatch(/Max-Age=0/)
    expect(cookieNamed(response, '__Host-fg_login')).toBeDefined()
    expect(standin.record.count).toBe(0)
  })

  it('ends an expired session that has no refresh token', async () => {
    const { browser } = await loggedIn('bob')
    await putSession(browser, { ...(await sessionOf(browser)), refreshToken: null, expiresAt: nowSec() - 1 })
    const response = await xhr(browser, '/overview')
    expect(response.status).toBe(401)
    expect(refusalOf(response)).toBe('FG_ERR_AUTH_SESSION_INVALID')
    expect(standin.record.count).toBe(0)
  })
})

describe('refresh with short-lived tokens', () => {
  /** Its own provider issuing 30 s access and ID tokens, and a proxy for it. */
  let shortIdp: DevProvider
  let shortProxy: TestProxy
  let shortUrl: string
  let refreshGrants = 0
  /** When set, refresh responses lose `expires_in` and the ID token, as some providers send them. */
  let stripExpiry = false
  beforeAll(async () => {
    const port = await freePort()
    shortUrl = `https://localhost:${port}`
    shortIdp = await startDevProvider({
      tls: { key: readFixture('rest.signed.pem'), cert: readFixture('rest.signed.pem') },
      clients: [{ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, publicUrl: shortUrl }],
      accessTokenTtlSec: 30,
      configure: (provider) => {
        provider.on('grant.success', (ctx) => {
          if (ctx.oidc.params?.grant_type !== 'refresh_token') return
          refreshGrants++
          ctx.state.refreshGrant = true
        })
        provider.use(async (ctx, next) => {
          await next()
          const body = ctx.body as Record<string, unknown> | undefined
          if (stripExpiry && ctx.state.refreshGrant === true && body !== undefined) {
            delete body.expires_in
            delete body.id_token
          }
        })
      },
    })
    shortProxy = await startProxy(standin.url, {
      listen: { host: '127.0.0.1', port },
      tls: { cert: fixture('rest.signed.pem'), key: fixture('rest.signed.pem') },
      auth: { oidc: oidcConfig({ issuer: shortIdp.issuer, publicUrl: shortUrl }) },
      authz: { roles: { 'flink-operators': 'operator', 'flink-viewers': 'viewer' } },
    })
  })
  afterAll(async () => {
    await shortProxy.close(1_000)
    await shortIdp.close()
  })
  beforeEach(() => {
    stripExpiry = false
  })

  async function loggedInShort(user: string) {
    const browser = new BrowserClient(dispatcher)
    const start = await browser.navigate(`${shortUrl}/`)
    await browser.navigate(await loginAtProvider(browser, start, user, shortUrl), { site: 'cross-site' })
    return browser
  }
  /** `count` sequential dashboard XHRs, each answered 200; the refresh grants they caused at the provider. */
  async function grantsFor(browser: BrowserClient, count: number): Promise<number> {
    const before = refreshGrants
    for (let i = 0; i < count; i++) {
      const response = await browser.send(`${shortUrl}/overview`, { kind: 'xhr' })
      expect(response.status).toBe(200)
    }
    return refreshGrants - before
  }

  it('does not refresh on every request when the tokens live 30 s, and still refreshes near their end', async () => {
    const browser = await loggedInShort('alice')
    const session = await sessionOf(browser)
    expect(session.expiresAt - session.issuedAt).toBeLessThanOrEqual(30)
    expect(await grantsFor(browser, 10)).toBe(0)
    // Within half the lifetime (15 s) of the end: one refresh, shared by the requests after it.
    await putSession(browser, { ...session, issuedAt: nowSec() - 20, expiresAt: nowSec() + 10 })
    expect(await grantsFor(browser, 10)).toBe(1)
    const renewed = await sessionOf(browser)
    expect(renewed.expiresAt - nowSec()).toBeGreaterThan(20)
  })

  it('assumes a 300 s lifetime when a refresh response states none (no expires_in, no ID token)', async () => {
    const browser = await loggedInShort('alice')
    await putSession(browser, { ...(await sessionOf(browser)), expiresAt: nowSec() - 5 })
    stripExpiry = true
    expect(await grantsFor(browser, 10)).toBe(1)
    const renewed = await sessionOf(browser)
    expect(renewed.expiresAt - renewed.issuedAt).toBe(300)
    expect(renewed.roles).toEqual(['flink-operators'])
  })
})

describe('refused session cookies', () => {
  let valid: Map<string, string>
  beforeAll(async () => {
    const { browser } = await loggedIn('alice')
    valid = new Map([...browser.cookies(publicUrl)].map(([name, cookie]) => [name, cookie.value]))
  })

  const withCookie = async (cookie: string) => {
    const response = await request(`${publicUrl}/overview`, {
      dispatcher,
      headers: { cookie, accept: 'application/json', 'sec-fetch-mode': 'cors' },
    })
    await response.body.dump()
    return {
      status: response.statusCode,
      refusal: response.headers['x-flink-guard-error'],
      setCookie: response.headers['set-cookie'],
    }
  }
  const flip = (value: string, at: number) =>
    value.slice(0, at) + (value[at] === 'A' ? 'B' : 'A') + value.slice(at + 1)
  const bigSession = (roles: number): Session => ({
    subject: 'alice',
    roles: ['flink-operators', ...Array.from({ length: roles }, (_, i) => `group-with-a-long-name-${i}`)],
    expiresAt: nowSec() + 600,
    issuedAt: nowSec(),
    refreshToken: null,
  })
  const cookieHeaderOf = (lines: string[]) => lines.map((line) => line.split(';')[0]).join('; ')

  it('accepts the valid cookie (the control case)', async () => {
    expect((await withCookie(`__Host-fg_session.0=${valid.get('__Host-fg_session.0')}`)).status).toBe(200)
    expect(standin.record.count).toBe(1)
  })

  it.each([
    ['a flipped byte in the ciphertext', (v: string) => flip(v, v.length - 40)],
    ['a flipped byte in the authentication tag', (v: string) => flip(v, v.length - 2)],
    ['a flipped byte in the protected header', (v: string) => flip(v, 5)],
    ['a truncated value', (v: string) => v.slice(0, -10)],
    ['not a JWE at all', () => 'eyJhbGciOiJub25lIn0.e30.'],
    ['an empty value', () => ''],
  ])('refuses %s: 401, the cookie deleted, nothing forwarded', async (_name, alter) => {
    const response = await withCookie(`__Host-fg_session.0=${alter(valid.get('__Host-fg_session.0')!)}`)
    expect(response.status).toBe(401)
    expect(response.refusal).toBe('FG_ERR_AUTH_SESSION_INVALID')
    expect(String(response.setCookie)).toMatch(/^__Host-fg_session\.0=; Path=\/; Max-Age=0;/)
    expect(standin.record.count).toBe(0)
  })

  it('refuses a session sealed with another secret, and a login-transaction token used as a session', async () => {
    const foreign = await sessionCookie(OTHER_SECRET).write(bigSession(0), new Map())
    expect((await withCookie(cookieHeaderOf(foreign))).status).toBe(401)
    const login = await new LoginTransactionCookie(new SealedTokens(SECRET, 'login')).write({
      state: 's',
      nonce: 'n',
      codeVerifier: 'v',
      returnTo: '/',
    })
    const sealed = login.split(';')[0]!.slice('__Host-fg_login='.length)
    expect((await withCookie(`__Host-fg_session.0=${sealed}`)).status).toBe(401)
    expect(standin.record.count).toBe(0)
  })

  it('joins a session split over several cookies, and refuses it with a chunk truncated or missing', async () => {
    const lines = await sessionCookie().write(bigSession(300), new Map())
    expect(lines.length).toBeGreaterThanOrEqual(3)
    const cookies = lines.map((line) => line.split(';')[0]!)
    expect((await withCookie(cookies.join('; '))).status).toBe(200)
    expect(standin.record.count).toBe(1)
    standin.record.reset()
    const truncated = [...cookies]
    truncated[1] = truncated[1]!.slice(0, -1)
    expect((await withCookie(truncated.join('; '))).status).toBe(401)
    const gap = cookies.filter((_, index) => index !== 1)
    expect((await withCookie(gap.join('; '))).status).toBe(401)
    expect((await withCookie(cookies.slice(0, -1).join('; '))).status).toBe(401)
    expect(standin.record.count).toBe(0)
  })

  it('lets a second proxy with the same secret accept the session, and one with a rotated list too', async () => {
    const cookie = `__Host-fg_session.0=${valid.get('__Host-fg_session.0')}`
    const same = await startOidcProxy(0)
    const rotated = await startOidcProxy(0, { cookieSecret: [NEW_SECRET, SECRET] })
    const other = await startOidcProxy(0, { cookieSecret: NEW_SECRET })
    try {
      for (const replica of [same, rotated]) {
        const response = await request(`${replica.proxyUrl.replace('127.0.0.1', 'localhost')}/overview`, {
          dispatcher,
          headers: { cookie },
        })
        expect(response.statusCode).toBe(200)
        await response.body.dump()
      }
      const refused = await request(`${other.proxyUrl.replace('127.0.0.1', 'localhost')}/overview`, {
        dispatcher,
        headers: { cookie },
      })
      expect(refused.statusCode).toBe(401)
      await refused.body.dump()
      expect(standin.record.count).toBe(2)
    } finally {
      await Promise.all([same.close(500), rotated.close(500), other.close(500)])
    }
  })
})

describe('cookie names: __Host- prefix, one copy of each', () => {
  const SESSION_0 = '__Host-fg_session.0'
  let alice: string
  let bob: string
  beforeAll(async () => {
    alice = (await loggedIn('alice')).browser.cookies(publicUrl).get(SESSION_0)!.value
    bob = (await loggedIn('bob')).browser.cookies(publicUrl).get(SESSION_0)!.value
  })
  const withCookie = async (cookie: string) => {
    const response = await request(`${publicUrl}/overview`, {
      dispatcher,
      headers: { cookie, accept: 'application/json', 'sec-fetch-mode': 'cors' },
    })
    await response.body.dump()
    const setCookie = response.headers['set-cookie']
    return {
      status: response.statusCode,
      code: response.headers['x-flink-guard-error'],
      setCookies: setCookie === undefined ? [] : Array.isArray(setCookie) ? setCookie : [setCookie],
    }
  }

  it('refuses a session cookie name sent twice (a planted copy listed first): 401, the cookie deleted, nothing forwarded', async () => {
    // The control: each session alone is accepted.
    expect((await withCookie(`${SESSION_0}=${alice}`)).status).toBe(200)
    expect((await withCookie(`${SESSION_0}=${bob}`)).status).toBe(200)
    standin.record.reset()
    for (const header of [
      `${SESSION_0}=${bob}; ${SESSION_0}=${alice}`,
      `${SESSION_0}=${alice}; theme=dark; ${SESSION_0}=${alice}`,
      `${SESSION_0}=${alice}; __Host-fg_session.1=junk; __Host-fg_session.1=junk`,
    ]) {
      const response = await withCookie(header)
      expect(response.status, header).toBe(401)
      expect(response.code).toBe('FG_ERR_AUTH_SESSION_INVALID')
      expect(response.setCookies.find((line) => line.startsWith(`${SESSION_0}=`))).toMatch(
        /^__Host-fg_session\.0=; Path=\/; Max-Age=0; Secure; HttpOnly; SameSite=Lax$/,
      )
    }
    expect(standin.record.count).toBe(0)
  })

  it('refuses a login cookie sent twice, beside a session and at the callback, and deletes it', async () => {
    const beside = await withCookie(`${SESSION_0}=${alice}; __Host-fg_login=a; __Host-fg_login=b`)
    expect(beside.status).toBe(401)
    expect(beside.setCookies).toContain('__Host-fg_login=; Path=/; Max-Age=0; Secure; HttpOnly; SameSite=Lax')
    const browser = new BrowserClient(dispatcher)
    const callbackUrl = await loginAtProvider(
      browser,
      await browser.navigate(`${publicUrl}/`),
      'alice',
      publicUrl,
    )
    const loginCookie = browser.cookies(publicUrl).get('__Host-fg_login')!.value
    const response = await request(callbackUrl, {
      dispatcher,
      headers: { cookie: `__Host-fg_login=${loginCookie}; __Host-fg_login=${loginCookie}` },
    })
    await response.body.dump()
    expect(response.statusCode).toBe(401)
    expect(lastLoginFailure()).toBe('the login transaction cookie was sent twice')
    expect(String(response.headers['set-cookie'])).not.toMatch(/__Host-fg_session/)
    expect(standin.record.count).toBe(0)
  })

  it('reads nothing planted under the old names: a junk fg_session.1 locks no one out, fg_session.0 is not a session', async () => {
    const response = await withCookie(
      `fg_session.0=${bob}; ${SESSION_0}=${alice}; fg_session.1=junk; fg_login=x`,
    )
    expect(response.status).toBe(200)
    expect(response.setCookies).toEqual([])
    expect(standin.record.count).toBe(1)
    expect(standin.record.last!.headers.cookie).toBeUndefined()
    const legacyOnly = await withCookie(`fg_session.0=${alice}`)
    expect(legacyOnly.status).toBe(401)
    expect(legacyOnly.code).toBe('FG_ERR_AUTH_REQUIRED')
  })

  it('sets every cookie with a __Host- name, Secure, Path=/ and no Domain: login, callback, refresh, logout', async () => {
    const { browser, start, back } = await loggedIn('alice', '/jobs/overview')
    await putSession(browser, { ...(await sessionOf(browser)), expiresAt: nowSec() - 5 })
    const refreshed = await xhr(browser, '/overview')
    const logout = await browser.send(`${publicUrl}/oauth2/logout`, { method: 'POST', site: 'same-origin' })
    const lines = [start[0]!, back[0]!, refreshed, logout].flatMap((response) => response.setCookies)
    expect(lines.length).toBeGreaterThanOrEqual(5)
    for (const line of lines) {
      expect(line).toMatch(
        /^__Host-fg_(?:login|session\.\d+)=[^;]*; Path=\/; Max-Age=\d+; Secure; HttpOnly; SameSite=Lax$/,
      )
      expect(line).not.toMatch(/domain/i)
    }
  })

  it('never forwards the login cookie (Path=/ now) or the session to Flink', async () => {
    const { browser } = await loggedIn('bob')
    const pending = new BrowserClient(dispatcher)
    await pending.send(`${publicUrl}/`)
    const loginCookie = pending.cookies(publicUrl).get('__Host-fg_login')!
    expect(loginCookie.path).toBe('/')
    browser.cookies(publicUrl).set('__Host-fg_login', loginCookie)
    browser.cookies(publicUrl).set('theme', { value: 'dark', path: '/' })
    expect(browser.cookieHeader(`${publicUrl}/overview`)).toMatch(
      /__Host-fg_login=.*__Host-fg_session\.0=|__Host-fg_session\.0=.*__Host-fg_login=/,
    )
    standin.record.reset()
    const response = await xhr(browser, '/overview')
    expect(response.status).toBe(200)
    expect(standin.record.count).toBe(1)
    expect(standin.record.last!.headers.cookie).toBe('theme=dark')
  })
})

describe('callback', () => {
  /** A login run to the provider's redirect back, not yet followed. */
  async function pendingCallback(user = 'alice') {
    const browser = new BrowserClient(dispatcher)
    const callbackUrl = await loginAtProvider(
      browser,
      await browser.navigate(`${publicUrl}/`),
      user,
      publicUrl,
    )
    return { browser, callbackUrl }
  }

  it('refuses a callback whose state is not the one of this browser’s login', async () => {
    const victim = await pendingCallback()
    const attacker = await pendingCallback()
    // The victim's browser is made to open the attacker's callback URL (login CSRF).
    const response = await victim.browser.send(attacker.callbackUrl, { site: 'cross-site' })
    expect(response.status).toBe(401)
    expect(refusalOf(response)).toBe('FG_ERR_AUTH_LOGIN_FAILED')
    expect(lastLoginFailure()).toMatch(/"state"/)
    expect(cookieNamed(response, '__Host-fg_session.0')).toBeUndefined()
    expect(cookieNamed(response, '__Host-fg_login')).toMatch(/Max-Age=0/)
    expect(standin.record.count).toBe(0)
  })

  it("refuses an ID token signed with a key not in the provider's JWKS (otherwise valid: issuer, audience, nonce)", async () => {
    const { browser, callbackUrl } = await pendingCallback()
    forgeIdTokens = true
    try {
      const response = await browser.send(callbackUrl)
      expect(response.status).toBe(401)
      expect(refusalOf(response)).toBe('FG_ERR_AUTH_LOGIN_FAILED')
      expect(lastLoginFailure()).toMatch(/signature/i)
      expect(cookieNamed(response, '__Host-fg_session.0')).toBeUndefined()
    } finally {
      forgeIdTokens = false
    }
    // The control: the same steps with the provider's own signature log in.
    const control = await pendingCallback()
    expect((await control.browser.send(control.callbackUrl)).status).toBe(302)
    expect(standin.record.count).toBe(0)
  })

  it('refuses a callback without the login cookie, or with an altered one', async () => {
    const { browser, callbackUrl } = await pendingCallback()
    const jar = browser.cookies(publicUrl)
    const original = jar.get('__Host-fg_login')!
    jar.set('__Host-fg_login', { ...original, value: `${original.value.slice(0, -3)}AAA` })
    expect((await browser.send(callbackUrl)).status).toBe(401)
    jar.delete('__Host-fg_login')
    const response = await browser.send(callbackUrl)
    expect(response.status).toBe(401)
    expect(refusalOf(response)).toBe('FG_ERR_AUTH_LOGIN_FAILED')
    expect(standin.record.count).toBe(0)
  })

  it('refuses a code used twice (replayed callback with the same login cookie)', async () => {
    const { browser, callbackUrl } = await pendingCallback()
    const loginCookie = browser.cookies(publicUrl).get('__Host-fg_login')!
    const first = await browser.send(callbackUrl)
    expect(first.status).toBe(302)
    browser.cookies(publicUrl).clear()
    browser.cookies(publicUrl).set('__Host-fg_login', loginCookie)
    const replay = await browser.send(callbackUrl)
    expect(replay.status).toBe(401)
    expect(refusalOf(replay)).toBe('FG_ERR_AUTH_LOGIN_FAILED')
    expect(lastLoginFailure()).toBe('invalid_grant')
    expect(cookieNamed(replay, '__Host-fg_session.0')).toBeUndefined()
    expect(standin.record.count).toBe(0)
  })

  it("refuses an ID token whose nonce is another login's (state and PKCE verifier matching)", async () => {
    // The test plays a login of its own at the provider, so it knows state, nonce and verifier, then
    // presents the code with a login cookie (sealed with the proxy's secret) that differs only in the nonce.
    const run = async (cookieNonce: (nonce: string) => string) => {
      const browser = new BrowserClient(dispatcher)
      const state = client.randomState()
      const nonce = client.randomNonce()
      const codeVerifier = client.randomPKCECodeVerifier()
      const authorize = new URL(`${idp.issuer}/auth`)
      authorize.search = new URLSearchParams({
        client_id: CLIENT_ID,
        response_type: 'code',
        redirect_uri: `${publicUrl}/oauth2/callback`,
        scope: 'openid groups',
        state,
        nonce,
        code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
        code_challenge_method: 'S256',
      }).toString()
      const callbackUrl = await loginAtProvider(
        browser,
        await browser.navigate(authorize.href),
        'alice',
        publicUrl,
      )
      const transactions = new LoginTransactionCookie(new SealedTokens(SECRET, 'login'))
      const line = await transactions.write({ state, nonce: cookieNonce(nonce), codeVerifier, returnTo: '/' })
      const [pair = ''] = line.split(';')
      browser
        .cookies(publicUrl)
        .set('__Host-fg_login', { value: pair.slice('__Host-fg_login='.length), path: '/' })
      return browser.send(callbackUrl)
    }
    const control = await run((nonce) => nonce)
    expect(control.status).toBe(302)
    const replayed = await run(() => client.randomNonce())
    expect(replayed.status).toBe(401)
    expect(refusalOf(replayed)).toBe('FG_ERR_AUTH_LOGIN_FAILED')
    expect(lastLoginFailure()).toMatch(/"nonce"/)
    expect(cookieNamed(replayed, '__Host-fg_session.0')).toBeUndefined()
    expect(standin.record.count).toBe(0)
  })
})

describe('logout', () => {
  /** Whether the provider still honours `refreshToken` (tried with the grant itself, so it is spent if so). */
  const refreshStatus = async (refreshToken: string) => {
    const refresh = await request(`${idp.issuer}/token`, {
      dispatcher,
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: clientAuthorization },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken }).toString(),
    })
    await refresh.body.dump()
    return refresh.statusCode
  }

  it('answers a GET, even a cross-site link, with a sign-out page that changes nothing', async () => {
    const { browser } = await loggedIn('alice')
    const { refreshToken } = await sessionOf(browser)
    for (const site of ['cross-site', 'same-origin', 'none'] as const) {
      const page = await browser.send(`${publicUrl}/oauth2/logout`, { site })
      expect(page.status).toBe(200)
      expect(page.headers['content-type']).toBe('text/html; charset=utf-8')
      expect(page.headers['cache-control']).toBe('no-store')
      expect(page.headers['x-frame-options']).toBe('DENY')
      expect(page.headers['x-content-type-options']).toBe('nosniff')
      expect(page.headers['content-security-policy']).toBe("default-src 'none'; frame-ancestors 'none'")
      expect(page.body).toMatch(
        /<form method="post" action="\/oauth2\/logout"><button type="submit">Sign out<\/button><\/form>/,
      )
      expect(page.body).not.toMatch(/<script/i)
      expect(page.setCookies).toEqual([])
    }
    // Still signed in, and the refresh token is still alive at the provider.
    expect((await xhr(browser, '/overview')).status).toBe(200)
    expect((await sessionOf(browser)).refreshToken).toBe(refreshToken)
    expect(await refreshStatus(refreshToken!)).toBe(200)
  })

  it.each([
    ['a cross-site form POST', { site: 'cross-site', headers: { origin: 'https://evil.example' } }],
    [
      'a same-site (sibling host) POST',
      { site: 'same-site', headers: { origin: 'https://other.localhost' } },
    ],
    ['a POST with neither Fetch Metadata nor Origin', { headers: { 'sec-fetch-site': '' } }],
    ['a POST whose Origin is null', { headers: { 'sec-fetch-site': '', origin: 'null' } }],
  ] as const)('refuses %s: 403 FG_ERR_AUTH_CROSS_SITE, still signed in', async (_name, options) => {
    const { browser } = await loggedIn('alice')
    const response = await browser.send(`${publicUrl}/oauth2/logout`, {
      method: 'POST',
      ...options,
    })
    expect(response.status).toBe(403)
    expect(refusalOf(response)).toBe('FG_ERR_AUTH_CROSS_SITE')
    expect(response.setCookies).toEqual([])
    expect((await xhr(browser, '/overview')).status).toBe(200)
  })

  it('signs out on a POST whose only signal is an Origin equal to publicUrl (a browser without Fetch Metadata)', async () => {
    const { browser } = await loggedIn('alice')
    const response = await browser.send(`${publicUrl}/oauth2/logout`, {
      method: 'POST',
      headers: { 'sec-fetch-site': '', origin: publicUrl },
    })
    expect(response.status).toBe(302)
    expect(browser.cookies(publicUrl).has('__Host-fg_session.0')).toBe(false)
  })

  it("on the page's same-origin POST: deletes the session, revokes its refresh token, and sends the browser to the provider's end_session_endpoint", async () => {
    const { browser } = await loggedIn('alice')
    const { refreshToken } = await sessionOf(browser)
    const response = await browser.send(`${publicUrl}/oauth2/logout`, {
      method: 'POST',
      site: 'same-origin',
      headers: { origin: publicUrl },
    })
    expect(response.status).toBe(302)
    expect(response.headers['cache-control']).toBe('no-store')
    const location = new URL(response.headers.location as string)
    const metadata = (await (
      await undiciFetch(`${idp.issuer}/.well-known/openid-configuration`, { dispatcher })
    ).json()) as { end_session_endpoint: string }
    expect(`${location.origin}${location.pathname}`).toBe(metadata.end_session_endpoint)
    expect(Object.fromEntries(location.searchParams)).toEqual({
      client_id: CLIENT_ID,
      post_logout_redirect_uri: `${publicUrl}/`,
    })
    expect(cookieNamed(response, '__Host-fg_session.0')).toMatch(
      /^__Host-fg_session\.0=; Path=\/; Max-Age=0;/,
    )
    expect(browser.cookies(publicUrl).has('__Host-fg_session.0')).toBe(false)
    expect((await xhr(browser, '/overview')).status).toBe(401)
    // The refresh token is dead at the provider: a stolen copy of the cookie could not be refreshed.
    const refresh = await request(`${idp.issuer}/token`, {
      dispatcher,
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: clientAuthorization },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken! }).toString(),
    })
    expect(refresh.statusCode).toBe(400)
    expect(((await refresh.body.json()) as { error: string }).error).toBe('invalid_grant')
    // The provider shows its sign-out confirmation for that URL.
    expect((await browser.send(location.href, { site: 'cross-site' })).status).toBe(200)
    expect(standin.record.count).toBe(0)
  })
})

describe('cross-site requests with a session cookie', () => {
  let operator: BrowserClient
  beforeAll(async () => {
    operator = (await loggedIn('alice')).browser
  })

  it.each([
    ['a cross-site XHR', { kind: 'xhr', site: 'cross-site' }],
    ['a same-site (sibling subdomain) XHR', { kind: 'xhr', site: 'same-site' }],
    ['a cross-site top-level navigation (a link)', { kind: 'navigate', site: 'cross-site' }],
    ['an image tag (no-cors)', { kind: 'xhr', site: 'cross-site', headers: { 'sec-fetch-mode': 'no-cors' } }],
    ['a request with no Fetch Metadata and no Origin', { kind: 'xhr', headers: { 'sec-fetch-site': '' } }],
    [
      'a request whose Origin is another site',
      { kind: 'xhr', headers: { 'sec-fetch-site': '', origin: 'https://evil.example' } },
    ],
  ] as const)(
    'refuses %s to /jobs/<id>/yarn-cancel: 403 and the job keeps running',
    async (_name, options) => {
      const job = standin.state.addJob('must survive', 'RUNNING')
      const response = await xhr(operator, `/jobs/${job.id}/yarn-cancel`, options as never)
      expect(response.status).toBe(403)
      expect(refusalOf(response)).toBe('FG_ERR_AUTH_CROSS_SITE')
      expect(job.state).toBe('RUNNING')
      expect(standin.record.count).toBe(0)
    },
  )

  it('refuses a cross-site PATCH (the cancel API) and a cross-site POST', async () => {
    const job = standin.state.addJob('must survive too', 'RUNNING')
    const patch = await xhr(operator, `/jobs/${job.id}`, {
      method: 'PATCH',
      site: 'cross-site',
      headers: { origin: 'https://evil.example' },
    })
    expect(patch.status).toBe(403)
    const post = await xhr(operator, `/jobs/${job.id}/savepoints`, { method: 'POST', site: 'cross-site' })
    expect(post.status).toBe(403)
    expect(job.state).toBe('RUNNING')
    expect(standin.record.count).toBe(0)
  })

  it('allows the same-origin cancel to an operator, by Fetch Metadata or by Origin', async () => {
    const byMetadata = standin.state.addJob('cancel me', 'RUNNING')
    const first = await xhr(operator, `/jobs/${byMetadata.id}/yarn-cancel`, { site: 'same-origin' })
    expect(first.status).toBe(202)
    expect(byMetadata.state).toBe('CANCELED')
    const byOrigin = standin.state.addJob('cancel me too', 'RUNNING')
    const second = await xhr(operator, `/jobs/${byOrigin.id}`, {
      method: 'PATCH',
      headers: { 'sec-fetch-site': '', origin: publicUrl },
    })
    expect(second.status).toBe(202)
    expect(byOrigin.state).toBe('CANCELED')
  })

  it('lets cross-site reads through: a GET that changes nothing', async () => {
    expect((await xhr(operator, '/jobs/overview', { site: 'cross-site' })).status).toBe(200)
  })

  it('still refuses a same-origin cancel to a viewer (authorization runs after the cross-site check)', async () => {
    const { browser } = await loggedIn('bob')
    const job = standin.state.addJob('viewer cannot cancel', 'RUNNING')
    const response = await xhr(browser, `/jobs/${job.id}/yarn-cancel`, { site: 'same-origin' })
    expect(response.status).toBe(403)
    expect(refusalOf(response)).toBe('FG_ERR_AUTHZ_PRESET_INSUFFICIENT')
    expect(job.state).toBe('RUNNING')
  })
})

const clientAuthorization = `Basic ${Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString('base64')}`

describe('provider unreachable', () => {
  it('starts anyway, reports not ready on /readyz/strict (a warning on /readyz), and answers a page load with 503 instead of a redirect', async () => {
    const deadPort = await freePort()
    const offline = await startProxy(standin.url, {
      tls: { cert: fixture('rest.signed.pem'), key: fixture('rest.signed.pem') },
      auth: { oidc: oidcConfig({ issuer: `https://127.0.0.1:${deadPort}` }) },
      authz: { roles: { 'flink-viewers': 'viewer' } },
    })
    try {
      const ready = await request(`${offline.adminUrl}/readyz/strict`)
      expect(ready.statusCode).toBe(503)
      expect(await ready.body.text()).toContain('auth.oidc')
      const lenient = await request(`${offline.adminUrl}/readyz`)
      expect(lenient.statusCode).toBe(200)
      expect(await lenient.body.text()).toContain('auth.oidc')
      standin.record.reset() // the readiness check asked Flink for /config
      const browser = new BrowserClient(dispatcher)
      const page = await browser.send(`${offline.proxyUrl.replace('127.0.0.1', 'localhost')}/`)
      expect(page.status).toBe(503)
      expect(refusalOf(page)).toBe('FG_ERR_AUTH_PROVIDER_UNAVAILABLE')
      expect(page.headers['retry-after']).toBe('5')
      expect(cookieNamed(page, '__Host-fg_login')).toBeUndefined()
      expect(standin.record.count).toBe(0)
    } finally {
      await offline.close(500)
    }
  })
})

describe('provider going down during a run', () => {
  it('keeps the sessions made, answers a login that needs it 503, and logs in again once it is back on its port, without a restart', async () => {
    const idpPort = await freePort()
    const proxyPort = await freePort()
    const url = `https://localhost:${proxyPort}`
    const startIdp = () =>
      startDevProvider({
        tls: { key: readFixture('rest.signed.pem'), cert: readFixture('rest.signed.pem') },
        clients: [{ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, publicUrl: url }],
        port: idpPort,
      })
    let flaky = await startIdp()
    const guarded = await startProxy(standin.url, {
      listen: { host: '127.0.0.1', port: proxyPort },
      tls: { cert: fixture('rest.signed.pem'), key: fixture('rest.signed.pem') },
      auth: { oidc: oidcConfig({ issuer: flaky.issuer, publicUrl: url }) },
      authz: { roles: { 'flink-viewers': 'viewer' } },
    })
    const toCallback = async () => {
      const browser = new BrowserClient(dispatcher)
      const callbackUrl = await loginAtProvider(browser, await browser.navigate(`${url}/`), 'bob', url)
      return { browser, callbackUrl }
    }
    const overview = async (browser: BrowserClient) =>
      (await browser.send(`${url}/overview`, { kind: 'xhr' })).status
    try {
      const made = await toCallback()
      expect((await made.browser.navigate(made.callbackUrl, { site: 'cross-site' })).at(-1)!.status).toBe(200)
      const pending = await toCallback()

      // The provider's listener is closed: it is gone as a crashed provider is.
      await flaky.close()
      expect(await overview(made.browser)).toBe(200)
      const [exchange] = await pending.browser.navigate(pending.callbackUrl, { site: 'cross-site' })
      expect(exchange!.status).toBe(503)
      expect(refusalOf(exchange!)).toBe('FG_ERR_AUTH_PROVIDER_UNAVAILABLE')
      expect(exchange!.headers['retry-after']).toBe('5')
      expect(await overview(made.browser)).toBe(200)

      // Back on the same port (a new instance, new signing keys): a new login completes.
      flaky = await startIdp()
      const again = await toCallback()
      expect((await again.browser.navigate(again.callbackUrl, { site: 'cross-site' })).at(-1)!.status).toBe(
        200,
      )
      expect(await overview(again.browser)).toBe(200)
      expect(await overview(made.browser)).toBe(200)
    } finally {
      await guarded.close(500)
      await flaky.close()
    }
  })
})

/** Revokes a refresh token at the provider (RFC 7009), as an administrator ending a user's access would. */
async function revoke(token: string): Promise<void> {
  const response = await request(`${idp.issuer}/token/revocation`, {
    dispatcher,
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: clientAuthorization,
    },
    body: new URLSearchParams({ token, token_type_hint: 'refresh_token' }).toString(),
  })
  expect(response.statusCode).toBe(200)
  await response.body.dump()
}

/** An ID token for `user` from a code flow the test runs itself (openid-client as the client). */
async function providerIdToken(user: string): Promise<string> {
  const config = await client.discovery(new URL(idp.issuer), CLIENT_ID, CLIENT_SECRET, undefined, {
    [client.customFetch]: (url, init) => undiciFetch(url, { ...init, dispatcher } as never) as never,
  })
  const state = client.randomState()
  const codeVerifier = client.randomPKCECodeVerifier()
  const authorize = client.buildAuthorizationUrl(config, {
    redirect_uri: `${publicUrl}/oauth2/callback`,
    scope: 'openid groups',
    state,
    code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
    code_challenge_method: 'S256',
  })
  const browser = new BrowserClient(dispatcher)
  const callbackUrl = await loginAtProvider(browser, await browser.navigate(authorize.href), user, publicUrl)
  const tokens = await client.authorizationCodeGrant(config, new URL(callbackUrl), {
    pkceCodeVerifier: codeVerifier,
    expectedState: state,
  })
  return tokens.id_token!
}
