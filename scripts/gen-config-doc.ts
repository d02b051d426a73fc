/**
 * Writes docs/configuration.md from the config schema. Run: npm run docs
 * (test/unit/config-doc.test.ts keeps the file current).
 */
import { writeFileSync } from 'node:fs'
import { renderConfigurationDoc } from '../src/config/config-doc.js'

const target = new URL('../docs/configuration.md', import.meta.url)
writeFileSync(target, renderConfigurationDoc())
console.log(`wrote ${target.pathname}`)
