import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { renderConfigurationDoc } from '../../src/config/config-doc.js'

const committed = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8')

describe('docs/configuration.md', () => {
  it('is exactly what the schema generates (regenerate: npm run docs)', () => {
    expect(committed).toBe(renderConfigurationDoc())
  })

  it.each([
    ['upstream.url', 'string', 'required'],
    ['listen.port', 'integer', '`8443`'],
    ['tls.clientAuth', '"none" \\| "request" \\| "require"', '`"none"`'],
    ['auth.basic.htpasswd', 'string', 'required'],
    ['authz.allowedNetworks', 'list of string', '`[]`'],
  ])('documents %s with its type and default', (key, type, defaultValue) => {
    expect(committed).toContain(`| \`${key}\` | ${type} | ${defaultValue} |`)
  })

  it('names the Flink key a setting mirrors', () => {
    expect(committed).toMatch(/\| `tls\.keystore` \| string \| {2}\| `security\.ssl\.rest\.keystore` \|/)
  })
})
