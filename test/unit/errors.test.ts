import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { ERRORS, type ErrorCode, errorBody, FlinkGuardError } from '../../src/errors.js'

const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8')
const documented = new Map(
  [...doc.matchAll(/^\| `(FG_ERR_[A-Z0-9_]+)` \| ([^|]+) \|/gm)].map((m) => [m[1]!, m[2]!.trim()] as const),
)

describe('error registry', () => {
  it.each(Object.keys(ERRORS) as ErrorCode[])(
    '%s is documented in docs/errors.md with its status',
    (code) => {
      expect(documented.has(code), `${code} is missing from docs/errors.md`).toBe(true)
      expect(documented.get(code)).toBe(String(ERRORS[code].status ?? '–'))
    },
  )

  it('documents no code that does not exist', () => {
    expect([...documented.keys()].filter((code) => !(code in ERRORS))).toEqual([])
  })

  it('every code follows FG_ERR_<AREA>_<WHAT> and HTTP codes are error statuses', () => {
    for (const [code, definition] of Object.entries(ERRORS)) {
      expect(code).toMatch(/^FG_ERR_[A-Z0-9]+_[A-Z0-9_]+$/)
      if (definition.status !== null) expect(definition.status).toBeGreaterThanOrEqual(400)
    }
  })

  it("renders exactly Flink's error shape (errors alone, as Flink's RestClient requires), the cause kept for the log only", () => {
    const cause = new Error('connect ECONNREFUSED 127.0.0.1:8081')
    const error = new FlinkGuardError('FG_ERR_UPSTREAM_UNREACHABLE', { cause })
    expect(error.statusCode).toBe(502)
    expect(error.cause).toBe(cause)
    expect(errorBody(error)).toEqual({
      errors: ['The Flink REST endpoint reset or closed the connection'],
    })
  })
})
