import { describe, expect, it, vi } from 'vitest'
import { isBrowserNavigation } from '../../src/auth/oidc/browser-request.js'
import { OidcConfigSchema, oidcConfigProblems } from '../../src/auth/oidc/config.js'
import { parseCookieHeader, repeatedCookieNames } from '../../src/auth/oidc/cookie-header.js'
import { withoutProxyCookies } from '../../src/auth/oidc/proxy-cookies.js'
import { SealedTokens } from '../../src/auth/oidc/sealed-token.js'
import { CHUNK_BYTES, nowSec, type Session, SessionCookie } from '../../src/auth/oidc/session-cookie.js'
import { configOf } from '../integration/support/auth.js'

const SECRET = 'unit-test-cookie-secret-0123456789abcdef'
const session = (roles = 0): Session => ({
  subject: 'alice',
  roles: Array.from({ length: roles }, (_, i) => `a-fairly-long-group-name-number-${i}`),
  expiresAt: nowSec() + 300,
  issuedAt: nowSec(),
  refreshToken: 'rt',
})
const cookieMap = (lines: string[]) =>
  new Map(
    lines
      .filter((line) => !line.includes('Max-Age=0'))
      .map((line) => {
        const pair = line.split(';')[0]!
        return [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)] as [string, string]
      }),
  )

describe('session cookie', () => {
  const cookie = new SessionCookie(new SealedTokens(SECRET, 'session'), 3_600)

  it('round-trips a session in one cookie when it is small', async () => {
    const lines = await cookie.write(session(), new Map())
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(
      /^__Host-fg_session\.0=[\w-]+\.\.[\w-]+\.[\w-]+\.[\w-]+; Path=\/; Max-Age=3600; Secure; HttpOnly; SameSite=Lax$/,
    )
    expect(await cookie.read(cookieMap(lines))).toEqual({ kind: 'valid', session: session() })
  })

  it('splits a large session into chunks of at most CHUNK_BYTES and joins them back', async () => {
    // One session value: building it twice could straddle a second boundary (issuedAt is in seconds).
    const big = session(400)
    const lines = await cookie.write(big, new Map())
    expect(lines.length).toBeGreaterThan(3)
    for (const line of lines)
      expect(line.split(';')[0]!.split('=')[1]!.length).toBeLessThanOrEqual(CHUNK_BYTES)
    expect(await cookie.read(cookieMap(lines))).toEqual({ kind: 'valid', session: big })
  })

  it('deletes the chunks of the previous cookie the new one does not use', async () => {
    const big = cookieMap(await cookie.write(session(400), new Map()))
    const lines = await cookie.write(session(), big)
    const stale = [...big.keys()].filter((name) => name !== '__Host-fg_session.0')
    expect(lines.filter((line) => line.includes('Max-Age=0')).map((line) => line.split('=')[0])).toEqual(
      stale,
    )
  })

  it("serves a session it opened before from its cache, but never past the cookie's own expiry", async () => {
    vi.useFakeTimers({ now: Date.now(), toFake: ['Date'] })
    try {
      const short = new SessionCookie(new SealedTokens(SECRET, 'session'), 60)
      const lines = await short.write(session(), new Map())
      expect(await short.read(cookieMap(lines))).toEqual({ kind: 'valid', session: session() })
      expect(await short.read(cookieMap(lines))).toEqual({ kind: 'valid', session: session() })
      // An altered copy is another key: it is opened, and refused, on its own.
      const altered = cookieMap(lines)
      // One character in the middle changed (the last ones may carry only padding bits, or already be "AA").
      const sealed = altered.get('__Host-fg_session.0')!
      const middle = Math.floor(sealed.length / 2)
      const other = sealed[middle] === 'A' ? 'B' : 'A'
      altered.set('__Host-fg_session.0', `${sealed.slice(0, middle)}${other}${sealed.slice(middle + 1)}`)
      expect(await short.read(altered)).toEqual({ kind: 'invalid' })
      vi.advanceTimersByTime(61_000)
      expect(await short.read(cookieMap(lines))).toEqual({ kind: 'invalid' })
    } finally {
      vi.useRealTimers()
    }
  })

  it('keeps no session alive past the token without a refresh token', async () => {
    const lines = await cookie.write(
      { ...session(), refreshToken: null, expiresAt: nowSec() + 120 },
      new Map(),
    )
    expect(lines[0]).toMatch(/Max-Age=12\d;/)
  })

  it('opens a session sealed with an older secret of a rotated list, not one of a removed secret', async () => {
    const old = await new SessionCookie(
      new SealedTokens('old-secret-0123456789abcdef0123456789', 'session'),
      60,
    ).write(session(), new Map())
    const rotated = new SessionCookie(
      new SealedTokens([SECRET, 'old-secret-0123456789abcdef0123456789'], 'session'),
      60,
    )
    expect((await rotated.read(cookieMap(old))).kind).toBe('valid')
    expect((await cookie.read(cookieMap(old))).kind).toBe('invalid')
  })

  it('refuses more chunks than MAX_CHUNKS without opening them', async () => {
    const many = new Map(
      Array.from({ length: 11 }, (_, i) => [`__Host-fg_session.${i}`, 'x'] as [string, string]),
    )
    expect(await cookie.read(many)).toEqual({ kind: 'invalid' })
  })

  it.each([
    ['no subject', { roles: [], expires: 1, issued: 0 }],
    ['an empty subject', { sub: '', roles: [], expires: 1, issued: 0 }],
    ['roles that are not strings', { sub: 'a', roles: [1], expires: 1, issued: 0 }],
    ['roles that are not a list', { sub: 'a', roles: 'admin', expires: 1, issued: 0 }],
    ['no expiry', { sub: 'a', roles: [], issued: 0 }],
    ['no issue time', { sub: 'a', roles: [], expires: 1 }],
    ['a refresh token that is not a string', { sub: 'a', roles: [], expires: 1, issued: 0, rt: 5 }],
  ])('refuses a sealed session with %s', async (_name, claims) => {
    const sealed = await new SealedTokens(SECRET, 'session').seal(claims, nowSec() + 60)
    expect(await cookie.read(new Map([['__Host-fg_session.0', sealed]]))).toEqual({ kind: 'invalid' })
  })

  it('refuses a cookie whose JWE has expired', async () => {
    const sealed = await new SealedTokens(SECRET, 'session').seal(
      { sub: 'a', roles: [], expires: 1, issued: 0 },
      nowSec() - 1,
    )
    expect(await cookie.read(new Map([['__Host-fg_session.0', sealed]]))).toEqual({ kind: 'invalid' })
  })

  it('is absent without __Host-fg_session.0, even with later chunks', async () => {
    expect(await cookie.read(new Map([['__Host-fg_session.1', 'x']]))).toEqual({ kind: 'absent' })
  })
})

describe('cookie headers', () => {
  it('parses pairs, keeping the first of a repeated name', () => {
    expect([...parseCookieHeader('a=1; b=2;c=3; a=4; junk; =5')]).toEqual([
      ['a', '1'],
      ['b', '2'],
      ['c', '3'],
    ])
  })

  it('names the cookies sent more than once', () => {
    expect([...repeatedCookieNames('a=1; b=2; a=3; c; b=4; d=5')]).toEqual(['a', 'b'])
    expect(repeatedCookieNames(undefined).size).toBe(0)
  })

  it.each([
    ['__Host-fg_session.0=x; theme=dark', 'theme=dark'],
    [
      'theme=dark; __Host-fg_session.0=x; __Host-fg_session.1=y; __Host-fg_login=z; lang=en',
      'theme=dark; lang=en',
    ],
    // The names before the __Host- prefix, and the prefix in another case, are never forwarded either.
    ['theme=dark; fg_session.0=x; fg_session.1=y; fg_login=z; lang=en', 'theme=dark; lang=en'],
    ['__host-fg_session.0=x; __HOST-FG_LOGIN=y; a=b', 'a=b'],
    ['__Host-fg_session.0=x; fg_session.17=y', undefined],
    ['__Host-fg_session=x; fg_sessions.0=y', '__Host-fg_session=x; fg_sessions.0=y'],
  ])('strips only the proxy cookies from %j', (header, expected) => {
    expect(withoutProxyCookies(header)).toBe(expected)
  })
})

describe('browser navigation', () => {
  it.each([
    ['GET', { accept: 'text/html,*/*', 'sec-fetch-mode': 'navigate' }, true],
    ['GET', { accept: 'text/html' }, true],
    ['GET', { accept: 'application/json' }, false],
    ['GET', { accept: 'text/html', 'sec-fetch-mode': 'cors' }, false],
    ['GET', { accept: 'text/html', 'x-requested-with': 'XMLHttpRequest' }, false],
    ['POST', { accept: 'text/html', 'sec-fetch-mode': 'navigate' }, false],
    ['HEAD', { accept: 'text/html' }, false],
    ['GET', {}, false],
  ] as const)('%s %j -> %s', (method, headers, expected) => {
    expect(isBrowserNavigation(method, headers)).toBe(expected)
  })
})

describe('auth.oidc config', () => {
  const valid = {
    issuer: 'https://idp.example.com',
    clientId: 'flink',
    clientSecret: 's',
    publicUrl: 'https://flink.example.com',
    cookieSecret: SECRET,
  }
  it('applies the defaults', () => {
    const config = configOf(OidcConfigSchema, valid)
    expect(config).toMatchObject({
      scopes: ['openid', 'profile', 'email'],
      redirectPath: '/oauth2/callback',
      logoutPath: '/oauth2/logout',
    })
    expect(oidcConfigProblems(config)).toEqual([])
  })

  it.each([
    [{ publicUrl: 'http://flink.example.com' }, 'publicUrl'],
    [{ publicUrl: 'https://flink.example.com/flink' }, 'publicUrl'],
    [{ publicUrl: 'flink.example.com' }, 'publicUrl'],
    [{ issuer: 'http://idp.example.com' }, 'issuer'],
    [{ scopes: ['profile'] }, 'scopes'],
    [{ logoutPath: '/oauth2/callback' }, 'logoutPath'],
  ])('reports %j', (change, key) => {
    const problems = oidcConfigProblems(configOf(OidcConfigSchema, { ...valid, ...change }))
    expect(problems.join('\n')).toContain(`auth.oidc.${key}`)
  })

  it.each([
    { cookieSecret: 'short' },
    { cookieSecret: [] },
    { redirectPath: 'oauth2/callback' },
    { redirectPath: '//x' },
  ])('the schema refuses %j', (change) => {
    expect(() => configOf(OidcConfigSchema, { ...valid, ...change })).toThrow()
  })
})
