/**
 * Writes docs/authorization.md from the code's route table and presets.
 * Run: npx tsx scripts/gen-authz-doc.ts (test/unit/authz-doc.test.ts keeps the file current).
 */
import { writeFileSync } from 'node:fs'
import { renderAuthorizationDoc } from '../src/authz/authz-doc.js'

const target = new URL('../docs/authorization.md', import.meta.url)
writeFileSync(target, renderAuthorizationDoc())
console.log(`wrote ${target.pathname}`)
