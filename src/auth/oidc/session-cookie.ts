import { hash } from 'node:crypto'
import { TtlCache } from '../ttl-cache.js'
import { clearCookie, setCookie } from './cookie-header.js'
import type { SealedTokens } from './sealed-token.js'

/** What a session cookie holds, and nothing more: no access token, no ID token, no profile. */
export interface Session {
  readonly subject: string
  readonly roles: readonly string[]
  /** When the provider's token ends (epoch seconds): refresh or log in again from then on. */
  readonly expiresAt: number
  /** When that token was obtained (epoch seconds): with expiresAt, its lifetime, which sets how early to refresh. */
  readonly issuedAt: number
  readonly refreshToken: string | null
}

/**
 * `__Host-` (RFC 6265bis §4.1.3.2): browsers accept such a cookie only with Secure, Path=/ and no Domain, so
 * no sibling host of the same site can plant or shadow one (session fixation), and our clearing Set-Cookie
 * (host-only, Path=/) always removes it.
 */
export const SESSION_COOKIE = '__Host-fg_session'
/** Browsers keep at least 4096 bytes per cookie (RFC 6265 §6.1); name and attributes need the rest. */
export const CHUNK_BYTES = 3_800
/** 10 chunks is ~38 KB, past what any provider's refresh token and a role list need; more is refused. */
export const MAX_CHUNKS = 10
const CHUNK_NAME = /^__Host-fg_session\.(\d+)$/
/** Opened sessions kept at once: a flood of distinct cookies cannot grow memory past this. */
export const MAX_OPENED_SESSIONS = 10_000

export type SessionRead =
  | { readonly kind: 'absent' }
  | { readonly kind: 'invalid' }
  | { readonly kind: 'valid'; readonly session: Session }

/** Chunk names present in a request: `__Host-fg_session.0`, `__Host-fg_session.1`, … */
export const isSessionCookie = (name: string): boolean => CHUNK_NAME.test(name)

/**
 * The session as a JWE split over numbered cookies. A value over CHUNK_BYTES (many roles, a long refresh
 * token) goes into `__Host-fg_session.0`, `.1`, … and is joined back in order; chunks the previous
 * cookie had beyond the new count are deleted, so a stale tail can never be joined to a new head.
 */
export class SessionCookie {
  /**
   * Sessions already opened, by a SHA-256 of the sealed value, until their cookie's own expiry: decrypting
   * costs ~145 µs and the dashboard polls with the same cookie every few seconds (`npm run bench:auth`).
   * Only sealed values that opened are kept, and a value cannot be altered without changing its key.
   */
  readonly #opened: TtlCache<string, Session>

  constructor(
    private readonly tokens: SealedTokens,
    private readonly lifetimeSec: number,
    maxOpened = MAX_OPENED_SESSIONS,
  ) {
    this.#opened = new TtlCache(maxOpened)
  }

  async read(cookies: ReadonlyMap<string, string>): Promise<SessionRead> {
    if (!cookies.has(`${SESSION_COOKIE}.0`)) return { kind: 'absent' }
    let sealed = ''
    for (let index = 0; cookies.has(`${SESSION_COOKIE}.${index}`); index++) {
      if (index === MAX_CHUNKS) return { kind: 'invalid' }
      sealed += cookies.get(`${SESSION_COOKIE}.${index}`)
    }
    const key = hash('sha256', sealed, 'base64url')
    const cached = this.#opened.get(key)
    if (cached !== undefined) return { kind: 'valid', session: cached }
    const claims = await this.tokens.open(sealed)
    const session = claims === null ? null : sessionOf(claims)
    if (session === null) return { kind: 'invalid' }
    // open() checked `exp`: the cached copy ends with the cookie.
    this.#opened.set(key, session, (claims!.exp as number) * 1000)
    return { kind: 'valid', session }
  }

  /** Set-Cookie lines that store `session` and delete the chunks of the request's cookie it does not reuse. */
  async write(session: Session, cookies: ReadonlyMap<string, string>, now = nowSec()): Promise<string[]> {
    // Without a refresh token nothing can extend the session past the provider's token.
    const endsAt = session.refreshToken === null ? session.expiresAt : now + this.lifetimeSec
    const sealed = await this.tokens.seal(
      {
        sub: session.subject,
        roles: [...session.roles],
        expires: session.expiresAt,
        issued: session.issuedAt,
        ...(session.refreshToken === null ? {} : { rt: session.refreshToken }),
      },
      endsAt,
    )
    const lines: string[] = []
    const count = Math.ceil(sealed.length / CHUNK_BYTES)
    if (count > MAX_CHUNKS) throw new Error(`the session needs ${count} cookies, more than ${MAX_CHUNKS}`)
    for (let index = 0; index < count; index++) {
      const chunk = sealed.slice(index * CHUNK_BYTES, (index + 1) * CHUNK_BYTES)
      lines.push(setCookie(`${SESSION_COOKIE}.${index}`, chunk, { maxAgeSec: endsAt - now, path: '/' }))
    }
    return [...lines, ...this.clear(cookies, count)]
  }

  /**
   * Set-Cookie lines deleting the request's session chunks from `from` on; from 0 (the default) they always
   * delete chunk 0, so a logout ends the session even when the request did not carry it.
   */
  clear(cookies: ReadonlyMap<string, string>, from = 0): string[] {
    const names = new Set(from === 0 ? [`${SESSION_COOKIE}.0`] : [])
    for (const name of cookies.keys()) {
      const index = CHUNK_NAME.exec(name)?.[1]
      if (index !== undefined && Number(index) >= from) names.add(name)
    }
    return [...names].map((name) => clearCookie(name, '/'))
  }
}

export const nowSec = (): number => Math.floor(Date.now() / 1000)

function sessionOf(claims: Record<string, unknown>): Session | null {
  const { sub, roles, expires, issued, rt } = claims
  if (typeof sub !== 'string' || sub === '' || typeof expires !== 'number') return null
  if (typeof issued !== 'number') return null
  if (!Array.isArray(roles) || !roles.every((role) => typeof role === 'string')) return null
  if (rt !== undefined && (typeof rt !== 'string' || rt === '')) return null
  return { subject: sub, roles, expiresAt: expires, issuedAt: issued, refreshToken: rt ?? null }
}
