import { spawn, spawnSync } from 'node:child_process'
import { verify } from '@node-rs/bcrypt'
import { beforeAll, describe, expect, it } from 'vitest'
import { assertBuilt, CLI, type Finished } from './support/cli.js'

beforeAll(assertBuilt)

function hashPassword(args: string[], stdin: string): Promise<Finished> {
  const child = spawn(process.execPath, [CLI, 'hash-password', ...args], { stdio: ['pipe', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk) => {
    stdout += chunk
  })
  child.stderr.on('data', (chunk) => {
    stderr += chunk
  })
  child.stdin.end(stdin)
  return new Promise((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })),
  )
}

/** util-linux `script` gives the command a real terminal, the way a person runs it. */
const hasScript = spawnSync('script', ['--version']).status === 0

describe('flink-guard hash-password', () => {
  it('--help prints its usage and exits 0', async () => {
    const result = await hashPassword(['--help'], '')
    expect(result.code).toBe(0)
    expect(result.stdout).toContain('Usage: flink-guard hash-password')
  })

  it('prints an htpasswd line with a $2y$ bcrypt hash of the password from stdin', async () => {
    const result = await hashPassword(['--user', 'alice', '--cost', '4', '--password-stdin'], 'wönderland\n')
    expect(result.code).toBe(0)
    const match = /^alice:(\$2y\$04\$[./A-Za-z0-9]{53})\n$/.exec(result.stdout)
    expect(match, result.stdout).not.toBeNull()
    expect(await verify('wönderland', match![1]!)).toBe(true)
    expect(await verify('wönderland\n', match![1]!)).toBe(false)
    expect(result.stdout + result.stderr).not.toContain('wönderland')
  })

  it('uses cost 12 by default', async () => {
    const result = await hashPassword(['--user', 'bob'], 'builder')
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(/^bob:\$2y\$12\$/)
  })

  it.each([
    [['--cost', '4'], 'x', '--user <name> is required'],
    [['--user', 'a:b', '--cost', '4'], 'x', '--user must not contain ":"'],
    [['--user', 'a', '--cost', '3'], 'x', '--cost must be a whole number from 4 to 31, got "3"'],
    [['--user', 'a', '--cost', '12abc'], 'x', '--cost must be a whole number'],
    [['--user', 'a', '--cost', '4'], '\n', 'the password is empty'],
    [['--user', 'a', '--cost', '4'], 'x'.repeat(73), 'only the first 72 bytes'],
    [['--user', 'a', '--password', 'hunter2'], '', 'unknown option "--password" (--help lists the options)'],
  ])('exits 2 for %j', async (args, stdin, message) => {
    const result = await hashPassword(args, stdin)
    expect(result.code).toBe(2)
    expect(result.stderr).toContain(message)
    expect(result.stdout).toBe('')
  })

  it.skipIf(!hasScript)('on a terminal, asks twice without echoing the password', async () => {
    const child = spawn(
      'script',
      ['-qec', `"${process.execPath}" "${CLI}" hash-password --user carol --cost 4`, '/dev/null'],
      {
        stdio: ['pipe', 'pipe', 'pipe'],
      },
    )
    let output = ''
    child.stdout.on('data', (chunk) => {
      output += chunk
    })
    const closed = new Promise<number | null>((resolve) => child.on('close', resolve))
    const waitFor = async (text: string) => {
      for (let waited = 0; !output.includes(text); waited += 20) {
        if (waited > 10_000) throw new Error(`no "${text}" in ${JSON.stringify(output)}`)
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
    }
    await waitFor('Password: ')
    child.stdin.write('s3cret-pw\r')
    await waitFor('Retype password: ')
    child.stdin.write('s3cret-pw\r')
    await waitFor('carol:$2y$04$')
    child.stdin.end()
    expect(await closed).toBe(0)
    expect(output).not.toContain('s3cret-pw')
    const hash = /carol:(\S+)/.exec(output)![1]!
    expect(await verify('s3cret-pw', hash)).toBe(true)
  })
})
