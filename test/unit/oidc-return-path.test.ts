import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { MAX_RETURN_PATH_LENGTH, safeReturnPath } from '../../src/auth/oidc/return-path.js'

/**
 * The return path after login is the one user-controlled value the proxy turns into a redirect. Every line of
 * oauth2-proxy's open-redirect corpus (test/fixtures/corpora/, used whole) has an exact expected
 * result: `/`, except the seven lines below, which are paths on the proxy's own origin whose *query* names
 * another site; the browser is sent to the path, and nothing in flink-guard or Flink redirects by its query.
 */
const lines = readFileSync(new URL('../fixtures/corpora/openredirects.txt', import.meta.url), 'utf8').split(
  '\n',
)
if (lines.at(-1) === '') lines.pop()

const SAME_ORIGIN_PATHS = new Set([
  '/?url=//example.com&next=//example.com&redirect=//example.com&redir=//example.com&rurl=//example.com&redirect_uri=//example.com',
  '/?url=/\\/example.com&next=/\\/example.com&redirect=/\\/example.com&redirect_uri=/\\/example.com',
  '/?url=Https://example.com&next=Https://example.com&redirect=Https://example.com&redir=Https://example.com&rurl=Https://example.com&redirect_uri=Https://example.com',
  '/ReceiveAutoRedirect/false?desiredLocationUrl=http://xssposed.org',
  '/redirect?url=//example.com&next=//example.com&redirect=//example.com&redir=//example.com&rurl=//example.com&redirect_uri=//example.com',
  '/redirect?url=/\\/example.com&next=/\\/example.com&redirect=/\\/example.com&redir=/\\/example.com&rurl=/\\/example.com&redirect_uri=/\\/example.com',
  '/redirect?url=Https://example.com&next=Https://example.com&redirect=Https://example.com&redir=Https://example.com&rurl=Https://example.com&redirect_uri=Https://example.com',
])
const PUBLIC_ORIGIN = 'https://flink.example.com'

describe('safeReturnPath over the open-redirect corpus', () => {
  it('reads the whole corpus (559 payloads)', () => {
    expect(lines).toHaveLength(559)
    for (const expected of SAME_ORIGIN_PATHS) expect(lines).toContain(expected)
  })

  it.each(lines.map((line, index) => [index + 1, line] as const))('line %i %j', (_number, line) => {
    const result = safeReturnPath(line)
    expect(result).toBe(SAME_ORIGIN_PATHS.has(line) ? line : '/')
    // As a browser resolves the Location header (WHATWG URL): still the proxy's origin.
    expect(new URL(result, `${PUBLIC_ORIGIN}/login`).origin).toBe(PUBLIC_ORIGIN)
  })
})

describe('safeReturnPath, own cases', () => {
  it.each([
    ['//evil.example', '/'],
    ['/\\evil.example', '/'],
    ['\\/\\/evil.example', '/'],
    ['https:evil.example', '/'],
    ['https://evil.example/', '/'],
    ['/%2F%2Fevil.example', '/'],
    ['/%2f%2fevil.example', '/'],
    ['/%5Cevil.example', '/'],
    ['/\t/evil.example', '/'],
    ['/\n/evil.example', '/'],
    ['/\r\n/evil.example', '/'],
    ['/jobs\toverview', '/'],
    ['/ /evil.example', '/'],
    ['/%2e%2e/evil.example', '/'],
    ['/./evil.example', '/'],
    ['/a/../b', '/'],
    ['/%252F%252Fevil.example', '/'],
    ['/\u2215\u2215evil.example', '/'],
    ['/\uff0f/evil.example', '/'],
    ['javascript:alert(1)', '/'],
    ['', '/'],
    ['evil.example', '/'],
    ['/#/overview', '/'],
    [`/${'a'.repeat(MAX_RETURN_PATH_LENGTH)}`, '/'],
    ['/', '/'],
    ['/index.html', '/index.html'],
    ['/jobs/overview?limit=10', '/jobs/overview?limit=10'],
    ['/v1/overview', '/v1/overview'],
    ['/caf%C3%A9', '/caf%C3%A9'],
  ])('%j -> %j', (raw, expected) => {
    expect(safeReturnPath(raw)).toBe(expected)
    expect(new URL(safeReturnPath(raw), `${PUBLIC_ORIGIN}/x`).origin).toBe(PUBLIC_ORIGIN)
  })

  it.each([null, undefined, 42, ['/'], { path: '/' }])('refuses a non-string %j', (value) => {
    expect(safeReturnPath(value)).toBe('/')
  })
})
