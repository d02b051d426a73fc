import type { ErrorCode } from '../errors.js'

/**
 * Canonical request paths, computed before any matching (DESIGN.md §2 "Screen").
 *
 * Flink's router decodes a path twice: RouterHandler hands it `QueryStringDecoder.path()`, already decoded
 * (a `+` kept), and `Router.decodePathTokens` splits that at `/` and decodes each segment again with
 * `QueryStringDecoder.decodeComponent`, which also reads `+` as a space (1.20 and 2.3 alike; a real JobManager
 * answers `%2525` as `%`, `%252e%252e%252f` as `../`, and `%2B` as a space). We decode once, and refuse
 * everything whose meaning could differ between us, Flink, or a handler that decodes again: encoded
 * separators, dot segments, encoded `%` (so Flink's second pass finds no escape left), `;`, control
 * characters, invalid escapes or UTF-8. What the second pass can still change is a `+`, raw or `%2B`: we read
 * it as the space Flink's routes see. What is left has one reading, and `forwardTarget` is the target as
 * sent, which Flink decodes to exactly `path`.
 *
 * Trailing slash: Flink ignores slashes at both ends of a path (`PathPattern.removeSlashesAtBothEnds`), so
 * `/jobs/` is `/jobs` to Flink. We match it identically: one trailing slash is dropped from `matchPath`
 * (and forwarded as sent, which Flink routes the same way). Two or more (`/jobs//`) are an empty segment.
 *
 * Leading slashes: Flink's CLI with `-m https://host:8443/` (a trailing slash, as users type it) sends
 * `//v1/jobs/overview` (RestClient joins `rest.path` "/" and "/v1/..."), and Flink's router strips the run. A
 * leading run is therefore one slash to us too, and is forwarded as one, so Flink still receives exactly the
 * path that was authorised. An empty segment anywhere else stays refused.
 */

/** Longest raw (still percent-encoded) path accepted. Flink's longest route with real ids is ~140 bytes. */
export const MAX_PATH_LENGTH_BYTES = 2_048

export type PathErrorCode = Extract<ErrorCode, `FG_ERR_PATH_${string}`>

export interface CanonicalPath {
  readonly ok: true
  /**
   * The path as Flink's router matches it: decoded once, `+` read as a space. It keeps a `/v1` prefix and a
   * trailing slash.
   */
  readonly path: string
  /** `path` without an optional leading `/v1` and without a trailing slash: for matching only. */
  readonly matchPath: string
  /** The raw query after the first `?`, untouched; null when the target has no `?`. */
  readonly query: string | null
  /** The request-target to send to Flink: the raw path (one leading slash), then `?query` when there was one. */
  readonly forwardTarget: string
}

export interface PathRefusal {
  readonly ok: false
  readonly code: PathErrorCode
  readonly reason: string
}

export type CanonicalizeResult = CanonicalPath | PathRefusal

const refuse = (code: PathErrorCode, reason: string): PathRefusal => ({ ok: false, code, reason })

/**
 * Characters allowed unencoded in a path: RFC 3986 §3.3 `pchar` and `/`, less `;` (refused on its own,
 * see below). `%` starts an escape and is checked separately. Indexed by char code, ASCII only.
 */
const RAW_PATH_CHAR = new Uint8Array(128)
for (const c of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,=:@/") {
  RAW_PATH_CHAR[c.charCodeAt(0)] = 1
}

const hexValue = (code: number): number => {
  if (code >= 0x30 && code <= 0x39) return code - 0x30
  if (code >= 0x41 && code <= 0x46) return code - 0x37
  if (code >= 0x61 && code <= 0x66) return code - 0x57
  return -1
}

const isControl = (code: number) => code < 0x20 || code === 0x7f

const SLASH = 0x2f
const BACKSLASH = 0x5c
const PERCENT = 0x25
const DOT = 0x2e
const SEMICOLON = 0x3b

/** Canonicalize a raw request-target as Node reports it (`request.url`). Pure; never throws. */
export function canonicalize(rawTarget: string): CanonicalizeResult {
  if (typeof rawTarget !== 'string' || rawTarget.charCodeAt(0) !== SLASH) {
    return refuse('FG_ERR_PATH_NOT_ORIGIN_FORM', 'the request target must be a path starting with "/"')
  }
  const queryAt = rawTarget.indexOf('?')
  const rawPath = withOneLeadingSlash(queryAt === -1 ? rawTarget : rawTarget.slice(0, queryAt))
  const query = queryAt === -1 ? null : rawTarget.slice(queryAt + 1)
  if (rawPath.length > MAX_PATH_LENGTH_BYTES) {
    return refuse('FG_ERR_PATH_TOO_LONG', `the path is longer than ${MAX_PATH_LENGTH_BYTES} bytes`)
  }

  // Pass 1: the raw characters and every escape, before anything is decoded.
  let escaped = false
  let nonAscii = false
  for (let i = 0; i < rawPath.length; i++) {
    const code = rawPath.charCodeAt(i)
    if (code === PERCENT) {
      const high = hexValue(rawPath.charCodeAt(i + 1))
      const low = hexValue(rawPath.charCodeAt(i + 2))
      if (high === -1 || low === -1) {
        return refuse('FG_ERR_PATH_BAD_ENCODING', '"%" must be followed by two hexadecimal digits')
      }
      const byte = high * 16 + low
      const refusal = refuseEscapedByte(byte)
      if (refusal !== null) return refusal
      if (byte >= 0x80) nonAscii = true
      escaped = true
      i += 2
      continue
    }
    if (isControl(code)) return refuse('FG_ERR_PATH_CONTROL_CHAR', 'the path contains a control character')
    if (code === BACKSLASH) return refuse('FG_ERR_PATH_BACKSLASH', 'the path contains "\\"')
    // `;` starts path parameters for servlet containers and some proxies (`;jsessionid=`); Flink has no use for it.
    if (code === SEMICOLON) return refuse('FG_ERR_PATH_MATRIX_PARAM', 'the path contains ";"')
    if (code >= 128 || RAW_PATH_CHAR[code] !== 1) {
      return refuse('FG_ERR_PATH_INVALID_CHAR', 'the path contains a character that must be percent-encoded')
    }
  }

  // Decode once. decodeURIComponent throws only on bytes that are not UTF-8 (overlong forms and encoded
  // surrogates included): the escapes themselves were checked above.
  let path = rawPath
  if (escaped) {
    try {
      path = decodeURIComponent(rawPath)
    } catch {
      return refuse('FG_ERR_PATH_BAD_UTF8', 'the path does not decode to valid UTF-8')
    }
    if (nonAscii && /[\u0080-\u009f]/.test(path)) {
      return refuse('FG_ERR_PATH_CONTROL_CHAR', 'the path contains a control character')
    }
  }
  // Flink's second decoding pass reads a `+`, raw or made of `%2B` by the first, as a space.
  if (path.includes('+')) path = path.replaceAll('+', ' ')

  // Pass 2: the segments. An empty segment is refused except a single trailing one (see the header).
  let start = 1
  while (start <= path.length) {
    let end = path.indexOf('/', start)
    if (end === -1) end = path.length
    if (end === start && end !== path.length) {
      return refuse('FG_ERR_PATH_EMPTY_SEGMENT', 'the path contains an empty segment ("//")')
    }
    if (end > start && isDotsOnly(path, start, end)) {
      return refuse('FG_ERR_PATH_DOT_SEGMENT', 'the path contains a "." or ".." segment')
    }
    start = end + 1
  }

  if (query !== null) {
    const refusal = refuseQuery(query)
    if (refusal !== null) return refusal
  }

  return {
    ok: true,
    path,
    matchPath: toMatchPath(path),
    query,
    forwardTarget: query === null ? rawPath : `${rawPath}?${query}`,
  }
}

function refuseEscapedByte(byte: number): PathRefusal | null {
  // An encoded `%` is a double encoding (`%252e`, `%252f`): any handler that decodes again sees a new path.
  if (byte === PERCENT) return refuse('FG_ERR_PATH_DOUBLE_ENCODED', 'the path contains an encoded "%"')
  if (byte === SLASH || byte === BACKSLASH) {
    return refuse('FG_ERR_PATH_ENCODED_SEPARATOR', 'the path contains an encoded "/" or "\\"')
  }
  // "." is unreserved: RFC 3986 §2.3 says producers should not encode it, so `%2e` is only ever a disguise.
  if (byte === DOT) return refuse('FG_ERR_PATH_DOT_SEGMENT', 'the path contains an encoded "."')
  if (isControl(byte))
    return refuse('FG_ERR_PATH_CONTROL_CHAR', 'the path contains an encoded control character')
  if (byte === SEMICOLON) return refuse('FG_ERR_PATH_MATRIX_PARAM', 'the path contains an encoded ";"')
  return null
}

/** The query is Flink's to parse and is forwarded untouched; only NUL and other controls are refused. */
function refuseQuery(query: string): PathRefusal | null {
  for (let i = 0; i < query.length; i++) {
    const code = query.charCodeAt(i)
    if (isControl(code)) return refuse('FG_ERR_PATH_CONTROL_CHAR', 'the query contains a control character')
    if (code === PERCENT) {
      const high = hexValue(query.charCodeAt(i + 1))
      const low = hexValue(query.charCodeAt(i + 2))
      if (high !== -1 && low !== -1 && isControl(high * 16 + low)) {
        return refuse('FG_ERR_PATH_CONTROL_CHAR', 'the query contains an encoded control character')
      }
    }
  }
  return null
}

function withOneLeadingSlash(rawPath: string): string {
  let slashes = 1
  while (rawPath.charCodeAt(slashes) === SLASH) slashes++
  return slashes === 1 ? rawPath : rawPath.slice(slashes - 1)
}

function isDotsOnly(path: string, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (path.charCodeAt(i) !== DOT) return false
  return true
}

/** Every Flink route is also served under `/v1` (ENDPOINTS.md "Conventions"); strip it, and a trailing slash. */
function toMatchPath(path: string): string {
  let matchPath = path
  if (matchPath.startsWith('/v1') && (matchPath.length === 3 || matchPath.charCodeAt(3) === SLASH)) {
    matchPath = matchPath.length === 3 ? '/' : matchPath.slice(3)
  }
  if (matchPath.length > 1 && matchPath.charCodeAt(matchPath.length - 1) === SLASH) {
    matchPath = matchPath.slice(0, -1)
  }
  return matchPath
}
