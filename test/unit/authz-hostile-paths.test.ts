import { describe, expect, it } from 'vitest'
import type { Identity } from '../../src/auth/identity.js'
import { authorizeRequest } from '../../src/authz/authorize-request.js'
import { canonicalize } from '../../src/authz/canonical-path.js'
import { compilePolicy } from '../../src/authz/decide.js'
import { ERRORS, type ErrorCode } from '../../src/errors.js'
import { HOSTILE } from '../fixtures/hostile-paths.js'

const viewer: Identity = { subject: 'eve', roles: ['staff'], method: 'basic', claims: {} }
const policy = compilePolicy({ roles: { staff: 'viewer' } })

/** The refusal a hostile request gets: canonicalize's 400, or decide's 400/403 for a viewer. */
function refusal(
  method: string,
  target: string,
): { code: ErrorCode; stage: 'canonicalize' | 'decide' } | 'allowed' {
  const canonical = canonicalize(target)
  if (!canonical.ok) return { code: canonical.code, stage: 'canonicalize' }
  const { record } = authorizeRequest(viewer, method, canonical, policy)
  return record.denial === null ? 'allowed' : { code: record.denial, stage: 'decide' }
}

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
