/**
 * The Cookie and Set-Cookie headers as far as the proxy's own cookies need them (RFC 6265 §4.1, §5.4).
 * Values the proxy writes are base64url JWE parts: no quoting or escaping is ever needed.
 */

export interface CookieAttributes {
  /** Seconds; 0 deletes the cookie (RFC 6265 §5.2.2). */
  readonly maxAgeSec: number
  readonly path: string
}

/**
 * Cookie name/value pairs of a request, in order; a name sent twice keeps its first value (RFC 6265 §5.4).
 * For the proxy's own cookies a repeated name is refused instead (see repeatedCookieNames): which copy comes
 * first is the browser's choice (longer Path first), not ours.
 */
export function parseCookieHeader(header: string | undefined): Map<string, string> {
  const cookies = new Map<string, string>()
  for (const { name, value } of cookiePairs(header)) {
    if (value !== undefined && name !== '' && !cookies.has(name)) cookies.set(name, value)
  }
  return cookies
}

/** Names that occur more than once in a Cookie header. */
export function repeatedCookieNames(header: string | undefined): Set<string> {
  const seen = new Set<string>()
  const repeated = new Set<string>()
  for (const { name, value } of cookiePairs(header)) {
    if (value === undefined) continue
    if (seen.has(name)) repeated.add(name)
    else seen.add(name)
  }
  return repeated
}

/**
 * `__Host-` attributes attributes (RFC 6265bis §4.1.3.2): Secure, no Domain (host-only), HttpOnly so page
 * scripts never read it, SameSite=Lax so cross-site subresource and form POST requests do not carry it. `__Host-` names also need
 * Path=/, which the callers give.
 */
export function setCookie(name: string, value: string, { maxAgeSec, path }: CookieAttributes): string {
  return `${name}=${value}; Path=${path}; Max-Age=${Math.max(0, Math.floor(maxAgeSec))}; Secure; HttpOnly; SameSite=Lax`
}

export function clearCookie(name: string, path: string): string {
  return setCookie(name, '', { maxAgeSec: 0, path })
}

/** A Cookie header without the pairs whose name `owned` claims, the others kept in order; undefined when none is left. */
export function withoutCookies(header: string, owned: (name: string) => boolean): string | undefined {
  const kept: string[] = []
  for (const { name, pair } of cookiePairs(header)) if (name !== '' && !owned(name)) kept.push(pair)
  return kept.length === 0 ? undefined : kept.join('; ')
}

/** The `name=value` pairs of a Cookie header, trimmed; a pair without `=` has only a name. */
function* cookiePairs(
  header: string | undefined,
): Generator<{ name: string; value: string | undefined; pair: string }> {
  if (header === undefined) return
  for (const raw of header.split(';')) {
    const pair = raw.trim()
    const equals = pair.indexOf('=')
    yield equals === -1
      ? { name: pair, value: undefined, pair }
      : { name: pair.slice(0, equals).trim(), value: pair.slice(equals + 1).trim(), pair }
  }
}
