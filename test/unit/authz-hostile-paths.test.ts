import { describe, expect, it } from 'vitest'
import type { Identity } from '../../src/auth/identity.js'
import { canonicalize } from '../../src/authz/canonical-path.js'
import { compilePolicy, decide } from '../../src/authz/decide.js'
import { ERRORS, type ErrorCode } from '../../src/errors.js'

const J = '6b1af540c0c0bb3fcf1cfcb4a3d2a1b9'
const viewer: Identity = { subject: 'eve', roles: ['staff'], method: 'basic', claims: {} }
const policy = compilePolicy({ roles: { staff: 'viewer' } })

/** The refusal a hostile request gets: canonicalize's 400, or decide's 400/403 for a viewer. */
function refusal(
  method: string,
  target: string,
): { code: ErrorCode; stage: 'canonicalize' | 'decide' } | 'allowed' {
  const canonical = canonicalize(target)
  if (!canonical.ok) return { code: canonical.code, stage: 'canonicalize' }
  const decision = decide(viewer, method, canonical, policy)
  return decision.allow ? 'allowed' : { code: decision.code, stage: 'decide' }
}

// [method, target, expected code]
const HOSTILE: readonly (readonly [string, string, ErrorCode])[] = [
  // CVE-2020-17519 and relatives: file names that climb out of the log directory.
  ['GET', '/jobmanager/logs/..%252f..%252f..%252fetc%252fpasswd', 'FG_ERR_PATH_DOUBLE_ENCODED'],
  ['GET', '/v1/jobmanager/logs/..%252f..%252fetc%252fpasswd', 'FG_ERR_PATH_DOUBLE_ENCODED'],
  ['GET', '/jobmanager/logs/..%2f..%2fetc%2fpasswd', 'FG_ERR_PATH_ENCODED_SEPARATOR'],
  ['GET', '/jobmanager/logs/..%5c..%5cetc%5cpasswd', 'FG_ERR_PATH_ENCODED_SEPARATOR'],
  ['GET', '/jobmanager/logs/../../etc/passwd', 'FG_ERR_PATH_DOT_SEGMENT'],
  ['GET', '/taskmanagers/tm-1/logs/..%252f..%252fetc%252fshadow', 'FG_ERR_PATH_DOUBLE_ENCODED'],
  ['GET', '/jobmanager/logs/..passwd', 'FG_ERR_PATH_PARAM_INVALID'],
  ['GET', '/jobmanager/logs/.bash_history', 'FG_ERR_PATH_PARAM_INVALID'],
  ['GET', '/jobmanager/profiler/..%2F..%2Fx', 'FG_ERR_PATH_ENCODED_SEPARATOR'],
  // Dot segments, literal and in every encoding.
  ['DELETE', '/jobs/../cluster', 'FG_ERR_PATH_DOT_SEGMENT'],
  ['DELETE', '/v1/../cluster', 'FG_ERR_PATH_DOT_SEGMENT'],
  ['GET', '/./jobmanager/config', 'FG_ERR_PATH_DOT_SEGMENT'],
  ['GET', '/jobs/%2e%2e/jobmanager/config', 'FG_ERR_PATH_DOT_SEGMENT'],
  ['GET', '/jobs/%2E%2e/jobmanager/config', 'FG_ERR_PATH_DOT_SEGMENT'],
  ['GET', '/jobs/.%2e/jobmanager/config', 'FG_ERR_PATH_DOT_SEGMENT'],
  ['GET', '/jobs/%2e./jobmanager/config', 'FG_ERR_PATH_DOT_SEGMENT'],
  ['GET', '/jobs/%2e/overview', 'FG_ERR_PATH_DOT_SEGMENT'],
  ['GET', '/jobs/.../overview', 'FG_ERR_PATH_DOT_SEGMENT'],
  ['GET', '/jobs/%c0%ae%c0%ae/jobmanager/config', 'FG_ERR_PATH_BAD_UTF8'],
  ['GET', '/jobs/%252e%252e/jobmanager/config', 'FG_ERR_PATH_DOUBLE_ENCODED'],
  ['GET', '/jobs/%25252e%25252e/jobmanager/config', 'FG_ERR_PATH_DOUBLE_ENCODED'],
  // Separators: backslashes, encoded slashes, empty segments.
  ['GET', '/jobmanager\\config', 'FG_ERR_PATH_BACKSLASH'],
  ['GET', '/jobmanager%5cconfig', 'FG_ERR_PATH_ENCODED_SEPARATOR'],
  ['GET', '/jobmanager%2Fconfig', 'FG_ERR_PATH_ENCODED_SEPARATOR'],
  ['GET', `/jobs/${J}%2fyarn-cancel`, 'FG_ERR_PATH_ENCODED_SEPARATOR'],
  ['GET', '//jobmanager/config', 'FG_ERR_PATH_EMPTY_SEGMENT'],
  ['GET', '/jobmanager//config', 'FG_ERR_PATH_EMPTY_SEGMENT'],
  ['GET', `/jobs/${J}/yarn-cancel//`, 'FG_ERR_PATH_EMPTY_SEGMENT'],
  // Matrix parameters.
  ['GET', `/jobs/${J}/yarn-cancel;x`, 'FG_ERR_PATH_MATRIX_PARAM'],
  ['GET', '/jobmanager/config;jsessionid=0123ABC', 'FG_ERR_PATH_MATRIX_PARAM'],
  ['GET', `/jobs/${J}/yarn-cancel%3B.css`, 'FG_ERR_PATH_MATRIX_PARAM'],
  // NUL and control characters, raw and encoded, in the path and the query.
  ['GET', '/jobmanager/config\u0000.css', 'FG_ERR_PATH_CONTROL_CHAR'],
  ['GET', '/jobmanager/config%00.css', 'FG_ERR_PATH_CONTROL_CHAR'],
  ['GET', '/jobmanager/logs/x%0d%0aSet-Cookie:a=b', 'FG_ERR_PATH_CONTROL_CHAR'],
  ['GET', '/jobs/overview?get=%00', 'FG_ERR_PATH_CONTROL_CHAR'],
  ['GET', '/jobs/%C2%9B', 'FG_ERR_PATH_CONTROL_CHAR'],
  // Broken encodings, overlong paths, non-path targets.
  ['GET', '/jobs/%zz', 'FG_ERR_PATH_BAD_ENCODING'],
  ['GET', '/jobs/%ff%fe', 'FG_ERR_PATH_BAD_UTF8'],
  ['GET', `/jobs/${'a'.repeat(4096)}`, 'FG_ERR_PATH_TOO_LONG'],
  ['GET', 'http://127.0.0.1:8081/jobmanager/config', 'FG_ERR_PATH_NOT_ORIGIN_FORM'],
  ['OPTIONS', '*', 'FG_ERR_PATH_NOT_ORIGIN_FORM'],
  ['GET', '/jobmanager/config#.css', 'FG_ERR_PATH_INVALID_CHAR'],
  // /v1 aliases and trailing slashes of denied routes.
  ['GET', `/v1/jobs/${J}/yarn-cancel`, 'FG_ERR_AUTHZ_PRESET_INSUFFICIENT'],
  ['GET', `/jobs/${J}/yarn-cancel/`, 'FG_ERR_AUTHZ_PRESET_INSUFFICIENT'],
  ['GET', `/v1/jobs/${J}/yarn-stop/`, 'FG_ERR_AUTHZ_PRESET_INSUFFICIENT'],
  ['PATCH', `/v1/jobs/${J}`, 'FG_ERR_AUTHZ_PRESET_INSUFFICIENT'],
  ['PATCH', `/jobs/${J}/?mode=cancel`, 'FG_ERR_AUTHZ_PRESET_INSUFFICIENT'],
  ['DELETE', '/v1/cluster', 'FG_ERR_AUTHZ_PRESET_INSUFFICIENT'],
  ['DELETE', '/cluster/', 'FG_ERR_AUTHZ_PRESET_INSUFFICIENT'],
  ['POST', '/v1/jars/upload/', 'FG_ERR_AUTHZ_PRESET_INSUFFICIENT'],
  ['GET', '/v1/jobmanager/config/', 'FG_ERR_AUTHZ_PRESET_INSUFFICIENT'],
  ['GET', '/jobmanager/logs/jobmanager.log', 'FG_ERR_AUTHZ_PRESET_INSUFFICIENT'],
  // Case variants and other unmatched API-looking GETs must not fall through to the dashboard handler.
  ['GET', `/jobs/${J}/YARN-CANCEL`, 'FG_ERR_AUTHZ_UNKNOWN_ROUTE'],
  ['GET', `/JOBS/${J}/yarn-cancel`, 'FG_ERR_AUTHZ_UNKNOWN_ROUTE'],
  ['GET', '/JobManager/config', 'FG_ERR_AUTHZ_UNKNOWN_ROUTE'],
  ['GET', `/V1/jobs/${J}/yarn-cancel`, 'FG_ERR_AUTHZ_UNKNOWN_ROUTE'],
  ['GET', `/v1/v1/jobs/${J}/yarn-cancel`, 'FG_ERR_AUTHZ_UNKNOWN_ROUTE'],
  ['GET', `/v2/jobs/${J}/yarn-cancel`, 'FG_ERR_AUTHZ_UNKNOWN_ROUTE'],
  ['GET', `/jobs/${J}/yarn-cancel/x`, 'FG_ERR_AUTHZ_UNKNOWN_ROUTE'],
  ['GET', `/jobs/${J}/yarn-cancel%3F`, 'FG_ERR_AUTHZ_UNKNOWN_ROUTE'],
  ['GET', `/jobs/${J}/yarn-cancel%20`, 'FG_ERR_AUTHZ_UNKNOWN_ROUTE'],
  ['HEAD', '/jobmanager/config', 'FG_ERR_AUTHZ_UNKNOWN_ROUTE'],
  ['patch', `/jobs/${J}`, 'FG_ERR_AUTHZ_UNKNOWN_ROUTE'],
  // Parameters that fit a route's shape but not its type.
  ['GET', `/jobs/${J.toUpperCase()}/yarn-cancel`, 'FG_ERR_PATH_PARAM_INVALID'],
  ['GET', `/jobs/${J.slice(1)}/yarn-cancel`, 'FG_ERR_PATH_PARAM_INVALID'],
  ['PATCH', '/jobs/overview', 'FG_ERR_PATH_PARAM_INVALID'],
  ['GET', `/jobs/${J}/checkpoints/details/-1`, 'FG_ERR_PATH_PARAM_INVALID'],
  ['GET', `/jobs/${J}/checkpoints/details/9223372036854775808`, 'FG_ERR_PATH_PARAM_INVALID'],
  ['POST', '/jars/payload.sh/run', 'FG_ERR_PATH_PARAM_INVALID'],
]

describe('hostile paths: refused with 400 or 403, never allowed', () => {
  it('has at least 40 entries', () => {
    expect(HOSTILE.length).toBeGreaterThanOrEqual(40)
  })

  it.each(HOSTILE)('%s %s -> %s', (method, target, code) => {
    const result = refusal(method, target)
    expect(result).not.toBe('allowed')
    expect(result).toMatchObject({ code })
    expect([400, 403]).toContain(ERRORS[code].status)
  })

  it('refuses every path error at canonicalize, before any route is looked at', () => {
    for (const [method, target, code] of HOSTILE) {
      if (code.startsWith('FG_ERR_PATH_') && code !== 'FG_ERR_PATH_PARAM_INVALID') {
        expect(refusal(method, target), target).toMatchObject({ stage: 'canonicalize' })
      }
    }
  })
})
