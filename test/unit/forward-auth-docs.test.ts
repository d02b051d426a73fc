import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { forwardAuthLocations } from '../../bench/nginx.js'

const doc = readFileSync(new URL('../../docs/forward-auth.md', import.meta.url), 'utf8')

describe('docs/forward-auth.md', () => {
  it('shows the NGINX locations the real-NGINX test runs (test/flink/forward-auth.test.ts)', () => {
    expect(doc).toContain(forwardAuthLocations('flink', 'guard'))
  })

  it('would notice a changed line', () => {
    expect(doc).not.toContain(forwardAuthLocations('flink', 'guard').replace('$request_uri', '$uri'))
  })
})
