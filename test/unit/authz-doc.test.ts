import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { renderAuthorizationDoc } from '../../src/authz/authz-doc.js'
import { requiredPreset } from '../../src/authz/presets.js'
import { FLINK_ROUTES, STATIC_UI_ROUTE } from '../../src/authz/routes.js'

const committed = readFileSync(new URL('../../docs/authorization.md', import.meta.url), 'utf8')

describe('docs/authorization.md', () => {
  it('is exactly what the code generates (regenerate: npx tsx scripts/gen-authz-doc.ts)', () => {
    expect(committed).toBe(renderAuthorizationDoc())
  })

  it('has one row per route with its category and lowest preset', () => {
    for (const route of [...FLINK_ROUTES, STATIC_UI_ROUTE]) {
      const row = `| ${route.method} | \`${route.template}\` | ${route.category} | ${requiredPreset(route, 'admin')} |`
      expect(committed, `${route.method} ${route.template}`).toContain(row)
    }
  })
})
