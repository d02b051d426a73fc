import { mkdtempSync, readFileSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { verify } from '@node-rs/bcrypt'
import { describe, expect, it } from 'vitest'
import { DEMO_STATE_DIR, demoCredentials } from '../../src/cli/demo-state.js'

describe('the quick start demo user', () => {
  it('gets a random password once, kept across restarts, stored for the proxy only as a bcrypt hash', async () => {
    const base = mkdtempSync(join(tmpdir(), 'fg-demo-'))
    const first = await demoCredentials(base)
    expect(first.password).toMatch(/^[A-Za-z0-9_-]{16}$/)
    expect(first.htpasswd).toBe(join(base, DEMO_STATE_DIR, 'users.htpasswd'))
    const line = readFileSync(first.htpasswd, 'utf8').trim()
    expect(line).toMatch(/^demo:\$2y\$10\$/)
    expect(line).not.toContain(first.password)
    expect(await verify(first.password, line.slice('demo:'.length).replace(/^\$2y\$/, '$2b$'))).toBe(true)
    expect(statSync(first.htpasswd).mode & 0o077).toBe(0)
    // As the README says: the demo keeps the password itself, readable by its owner only, to print it again.
    const passwordFile = join(base, DEMO_STATE_DIR, 'demo.password')
    expect(readFileSync(passwordFile, 'utf8')).toBe(`${first.password}\n`)
    expect(statSync(passwordFile).mode & 0o077).toBe(0)
    expect(readFileSync(new URL('../../README.md', import.meta.url), 'utf8')).toContain(
      'the demo keeps the password itself in `demo.password` (mode 600, plain text)',
    )
    expect((await demoCredentials(base)).password).toBe(first.password)
    expect((await demoCredentials(mkdtempSync(join(tmpdir(), 'fg-demo-')))).password).not.toBe(first.password)
  })
})
