import { describe, expect, it } from 'vitest'
import { type CanonicalPath, canonicalize, MAX_PATH_LENGTH_BYTES } from '../../src/authz/canonical-path.js'
import { ERRORS } from '../../src/errors.js'

const ok = (target: string): CanonicalPath => {
  const result = canonicalize(target)
  if (!result.ok) throw new Error(`${target} was refused: ${result.code}`)
  return result
}

/**
 * What Flink's router does with a request-target: RouterHandler takes QueryStringDecoder.path() (cut at the
 * first "?", decoded, "+" kept), then Router.decodePathTokens splits that at "/" and decodes each token again
 * with QueryStringDecoder.decodeComponent, which reads "+" as a space. test/flink/routes.test.ts shows a real
 * JobManager doing it.
 */
const flinkDecodedPath = (target: string) =>
  decodeURIComponent(target.split('?')[0]!)
    .split('/')
    .map((token) => decodeURIComponent(token.replaceAll('+', ' ')))
    .join('/')

describe('canonicalize: accepted targets', () => {
  it.each([
    // target, path, matchPath, query
    ['/', '/', '/', null],
    ['/jobs/overview', '/jobs/overview', '/jobs/overview', null],
    ['/v1/jobs/overview', '/v1/jobs/overview', '/jobs/overview', null],
    ['/v1', '/v1', '/', null],
    ['/v1/', '/v1/', '/', null],
    ['/v1jobs', '/v1jobs', '/v1jobs', null],
    ['/v10/jobs', '/v10/jobs', '/v10/jobs', null],
    ['/jobs/', '/jobs/', '/jobs', null],
    // The Flink CLI with `-m https://host:8443/` sends `//v1/...`; Flink's router strips the run.
    ['//v1/jobs/overview', '/v1/jobs/overview', '/jobs/overview', null],
    ['///jobs/overview?x=1', '/jobs/overview', '/jobs/overview', 'x=1'],
    ['//evil.example/jobs', '/evil.example/jobs', '/evil.example/jobs', null],
    ['/v1/jobs/', '/v1/jobs/', '/jobs', null],
    ['/jobs/overview?', '/jobs/overview', '/jobs/overview', ''],
    ['/jobs/metrics?get=a,b&agg=max', '/jobs/metrics', '/jobs/metrics', 'get=a,b&agg=max'],
    ['/jars/abc_my%20job.jar/run', '/jars/abc_my job.jar/run', '/jars/abc_my job.jar/run', null],
    ['/jars/abc_my+job.jar/run', '/jars/abc_my job.jar/run', '/jars/abc_my job.jar/run', null],
    ['/jars/abc_my%2Bjob.jar/run', '/jars/abc_my job.jar/run', '/jars/abc_my job.jar/run', null],
    ['/assets/%C3%A9t%C3%A9.svg', '/assets/été.svg', '/assets/été.svg', null],
    ['/x%3Fy', '/x?y', '/x?y', null],
    [
      '/taskmanagers/10.0.0.7:40123-5d2f1a',
      '/taskmanagers/10.0.0.7:40123-5d2f1a',
      '/taskmanagers/10.0.0.7:40123-5d2f1a',
      null,
    ],
  ])('%s', (target, path, matchPath, query) => {
    const result = ok(target)
    expect(result).toMatchObject({ path, matchPath, query })
  })

  it('passes the query through untouched, even what would be refused in the path', () => {
    const result = ok('/jobs/overview?x=..%2f..%252f;a=%zz&b=\\')
    expect(result.query).toBe('x=..%2f..%252f;a=%zz&b=\\')
    expect(result.forwardTarget).toBe('/jobs/overview?x=..%2f..%252f;a=%zz&b=\\')
  })

  it('forwards a target that Flink decodes to exactly the authorised path', () => {
    for (const target of [
      '/jobs/overview?get=x',
      '/v1/jars/c4b6a2c0_my%20job+v2.jar/run?entry-class=a.B',
      '/jars/a+b.jar/run',
      '/jars/a%2Bb.jar/run',
      '/assets/%C3%A9t%C3%A9.svg',
      '/jobs/',
    ]) {
      const result = ok(target)
      expect(flinkDecodedPath(result.forwardTarget), target).toBe(result.path)
      expect(ok(result.forwardTarget).path, target).toBe(result.path)
    }
  })

  it('reads "+" and "%2B" as the space Flink\'s routes see, and forwards the target as sent', () => {
    for (const target of ['/jars/a+b.jar/run?x=+', '/jars/a%2Bb.jar/run?x=+']) {
      const result = ok(target)
      expect(result.path, target).toBe('/jars/a b.jar/run')
      expect(result.forwardTarget, target).toBe(target)
      expect(flinkDecodedPath(result.forwardTarget), target).toBe(result.path)
    }
  })

  it('accepts a path of exactly the limit and refuses one byte more', () => {
    const exact = `/${'a'.repeat(MAX_PATH_LENGTH_BYTES - 1)}`
    expect(canonicalize(exact).ok).toBe(true)
    expect(canonicalize(`${exact}a`)).toMatchObject({ ok: false, code: 'FG_ERR_PATH_TOO_LONG' })
    expect(canonicalize(`${exact}?${'q'.repeat(10_000)}`).ok).toBe(true)
  })
})

describe('canonicalize: refused targets', () => {
  it.each([
    ['http://flink:8081/jobs', 'FG_ERR_PATH_NOT_ORIGIN_FORM'],
    ['*', 'FG_ERR_PATH_NOT_ORIGIN_FORM'],
    ['', 'FG_ERR_PATH_NOT_ORIGIN_FORM'],
    ['jobs/overview', 'FG_ERR_PATH_NOT_ORIGIN_FORM'],
    ['flink:8081', 'FG_ERR_PATH_NOT_ORIGIN_FORM'],
    ['//v1/jobs//overview', 'FG_ERR_PATH_EMPTY_SEGMENT'],
    ['///%2e%2e/cluster', 'FG_ERR_PATH_DOT_SEGMENT'],
    ['//%2fcluster', 'FG_ERR_PATH_ENCODED_SEPARATOR'],
    ['/jobs//overview', 'FG_ERR_PATH_EMPTY_SEGMENT'],
    ['/jobs//', 'FG_ERR_PATH_EMPTY_SEGMENT'],
    ['/jobs/./overview', 'FG_ERR_PATH_DOT_SEGMENT'],
    ['/jobs/../cluster', 'FG_ERR_PATH_DOT_SEGMENT'],
    ['/jobs/..', 'FG_ERR_PATH_DOT_SEGMENT'],
    ['/jobs/.../x', 'FG_ERR_PATH_DOT_SEGMENT'],
    ['/jobs/%2e%2e/cluster', 'FG_ERR_PATH_DOT_SEGMENT'],
    ['/jobs/%2E./cluster', 'FG_ERR_PATH_DOT_SEGMENT'],
    ['/jobs/x%2ejar', 'FG_ERR_PATH_DOT_SEGMENT'],
    ['/jobs/%2fcluster', 'FG_ERR_PATH_ENCODED_SEPARATOR'],
    ['/jobs/%2F', 'FG_ERR_PATH_ENCODED_SEPARATOR'],
    ['/jobs/%5c', 'FG_ERR_PATH_ENCODED_SEPARATOR'],
    ['/jobs/%5C', 'FG_ERR_PATH_ENCODED_SEPARATOR'],
    ['/jobs\\overview', 'FG_ERR_PATH_BACKSLASH'],
    ['/jobs/%252e%252e', 'FG_ERR_PATH_DOUBLE_ENCODED'],
    ['/jobs/%252F', 'FG_ERR_PATH_DOUBLE_ENCODED'],
    ['/jobs/%25', 'FG_ERR_PATH_DOUBLE_ENCODED'],
    ['/jobs/%2541', 'FG_ERR_PATH_DOUBLE_ENCODED'],
    ['/jobs;jsessionid=1', 'FG_ERR_PATH_MATRIX_PARAM'],
    ['/jobs/%3Bx', 'FG_ERR_PATH_MATRIX_PARAM'],
    ['/jobs\u0000', 'FG_ERR_PATH_CONTROL_CHAR'],
    ['/jobs\t', 'FG_ERR_PATH_CONTROL_CHAR'],
    ['/jobs\u007f', 'FG_ERR_PATH_CONTROL_CHAR'],
    ['/jobs%00', 'FG_ERR_PATH_CONTROL_CHAR'],
    ['/jobs%0A', 'FG_ERR_PATH_CONTROL_CHAR'],
    ['/jobs%7f', 'FG_ERR_PATH_CONTROL_CHAR'],
    ['/jobs%C2%85', 'FG_ERR_PATH_CONTROL_CHAR'],
    ['/jobs?a=%00', 'FG_ERR_PATH_CONTROL_CHAR'],
    ['/jobs?a=%1b', 'FG_ERR_PATH_CONTROL_CHAR'],
    ['/jobs?a=\r\n', 'FG_ERR_PATH_CONTROL_CHAR'],
    ['/jobs/%', 'FG_ERR_PATH_BAD_ENCODING'],
    ['/jobs/%4', 'FG_ERR_PATH_BAD_ENCODING'],
    ['/jobs/%g0', 'FG_ERR_PATH_BAD_ENCODING'],
    ['/jobs/%%30', 'FG_ERR_PATH_BAD_ENCODING'],
    ['/jobs/%ff', 'FG_ERR_PATH_BAD_UTF8'],
    ['/jobs/%c0%ae', 'FG_ERR_PATH_BAD_UTF8'],
    ['/jobs/%ed%a0%80', 'FG_ERR_PATH_BAD_UTF8'],
    ['/jobs/%e2%82', 'FG_ERR_PATH_BAD_UTF8'],
    ['/jobs/over view', 'FG_ERR_PATH_INVALID_CHAR'],
    ['/jobs#x', 'FG_ERR_PATH_INVALID_CHAR'],
    ['/jobs/<script>', 'FG_ERR_PATH_INVALID_CHAR'],
    ['/jobs/"x"', 'FG_ERR_PATH_INVALID_CHAR'],
    ['/jobs/{id}', 'FG_ERR_PATH_INVALID_CHAR'],
    ['/jobs/é', 'FG_ERR_PATH_INVALID_CHAR'],
  ])('%j -> %s', (target, code) => {
    const result = canonicalize(target)
    expect(result).toMatchObject({ ok: false, code })
    expect(ERRORS[code as keyof typeof ERRORS].status).toBe(400)
    if (!result.ok) expect(result.reason.length).toBeGreaterThan(0)
  })
})

describe('canonicalize: a leading run of slashes', () => {
  it('is forwarded as one slash, so Flink receives exactly the path that was authorised', () => {
    expect(ok('//v1/jobs/overview').forwardTarget).toBe('/v1/jobs/overview')
    expect(ok('////jobs/overview?a=b').forwardTarget).toBe('/jobs/overview?a=b')
  })
})
