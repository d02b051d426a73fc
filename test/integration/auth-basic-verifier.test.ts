import { mkdtempSync, renameSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { hashSync } from '@node-rs/bcrypt'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { AuthOutcome } from '../../src/auth/authenticator.js'
import { BasicAuthenticator } from '../../src/auth/basic/authenticator.js'
import { BasicConfigSchema } from '../../src/auth/basic/config.js'
import { configOf, credentials, type RecordingLogger, recordingLogger } from './support/auth.js'
import { eventually } from './support/eventually.js'

const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}`
const login = (user: string, password: string, address?: string) =>
  credentials({ authorization: basic(user, password) }, address)

/** bcrypt cost 4 keeps the suite quick; the cost does not change what is tested. */
let aliceHash: string
let bobHash: string
beforeAll(() => {
  aliceHash = hashSync('wonderland', 4).replace(/^\$2b\$/, '$2y$')
  bobHash = hashSync('builder', 4)
})

const opened: BasicAuthenticator[] = []
afterEach(async () => {
  await Promise.all(opened.splice(0).map((authenticator) => authenticator.close()))
})

function htpasswdFile(text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'fg-htpasswd-')), 'users.htpasswd')
  writeFileSync(path, text)
  return path
}

async function authenticator(
  htpasswd: string,
  overrides: Record<string, unknown> = {},
  logger: RecordingLogger = recordingLogger(),
): Promise<BasicAuthenticator> {
  const config = configOf(BasicConfigSchema, {
    htpasswd,
    users: { alice: ['flink-admins', 'data-eng'] },
    ...overrides,
  })
  const authenticator = await BasicAuthenticator.create(config, { logger })
  opened.push(authenticator)
  return authenticator
}

function expectRefused(outcome: AuthOutcome, code: string, reason: string): void {
  expect(outcome).toMatchObject({ kind: 'refused', method: 'basic', code, reason })
}

describe('Basic authenticator against an htpasswd file', () => {
  it('accepts $2y$, $2b$, apr1 and {SHA} users, with roles from the config', async () => {
    const file = htpasswdFile(
      [
        `alice:${aliceHash}`,
        `bob:${bobHash}`,
        'carol:$apr1$abc$mehJE/UcwZsj.w5DYe.b5.',
        'dave:{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=',
      ].join('\n'),
    )
    const auth = await authenticator(file)
    expect(auth.ready()).toEqual({ ok: true })
    const alice = await auth.authenticate(login('alice', 'wonderland'))
    expect(alice).toEqual({
      kind: 'accepted',
      identity: { subject: 'alice', roles: ['flink-admins', 'data-eng'], method: 'basic', claims: {} },
    })
    for (const [user, password] of [
      ['bob', 'builder'],
      ['carol', 'password'],
      ['dave', 'secret'],
    ] as const) {
      expect(await auth.authenticate(login(user, password))).toMatchObject({
        kind: 'accepted',
        identity: { subject: user, roles: [] },
      })
    }
  })

  it('answers absent without Basic credentials, and refuses malformed ones', async () => {
    const auth = await authenticator(htpasswdFile(`alice:${aliceHash}\n`))
    expect(await auth.authenticate(credentials())).toEqual({ kind: 'absent' })
    expect(await auth.authenticate(credentials({ authorization: 'Bearer a.b.c' }))).toEqual({
      kind: 'absent',
    })
    for (const authorization of [
      'Basic',
      'Basic !!!notbase64',
      `Basic ${Buffer.from('alice-without-colon').toString('base64')}`,
      'basic YWxpY2U6c2VjcmV0==',
    ]) {
      expectRefused(
        await auth.authenticate(credentials({ authorization })),
        'FG_ERR_AUTH_BAD_CREDENTIALS',
        'malformed',
      )
    }
    expectRefused(
      await auth.authenticate(credentials({ authorization: `Basic ${'A'.repeat(64 * 1024)}` })),
      'FG_ERR_AUTH_BAD_CREDENTIALS',
      'too_large',
    )
  })

  it('refuses a wrong password and an unknown user alike, to the client', async () => {
    const auth = await authenticator(htpasswdFile(`alice:${aliceHash}\n`))
    expectRefused(
      await auth.authenticate(login('alice', 'Wonderland')),
      'FG_ERR_AUTH_BAD_CREDENTIALS',
      'bad_password',
    )
    expectRefused(
      await auth.authenticate(login('mallory', 'wonderland')),
      'FG_ERR_AUTH_BAD_CREDENTIALS',
      'unknown_user',
    )
    expect(auth.challenge()).toBe('Basic realm="flink", charset="UTF-8"')
  })

  it('throttles a brute-force burst on one user: only maxFailuresPerUser attempts reach bcrypt', async () => {
    const auth = await authenticator(htpasswdFile(`alice:${aliceHash}\n`), {
      throttle: { maxFailuresPerUser: 5, maxFailuresPerAddress: 1000, windowSec: 60 },
    })
    const outcomes = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        auth.authenticate(login('alice', `guess-${i}`, `198.51.100.${i}`)),
      ),
    )
    const reasons = outcomes.map((outcome) => (outcome.kind === 'refused' ? outcome.reason : outcome.kind))
    expect(reasons.filter((reason) => reason === 'bad_password')).toHaveLength(5)
    expect(reasons.filter((reason) => reason === 'throttled')).toHaveLength(35)
    const throttled = outcomes.find((outcome) => outcome.kind === 'refused' && outcome.reason === 'throttled')
    expect(throttled).toMatchObject({ code: 'FG_ERR_AUTH_THROTTLED' })
    expect((throttled as { retryAfterSec: number }).retryAfterSec).toBeGreaterThan(0)
    expect((throttled as { retryAfterSec: number }).retryAfterSec).toBeLessThanOrEqual(60)
    // During the lockout even the right password is refused, or the guessing would simply go on.
    expectRefused(await auth.authenticate(login('alice', 'wonderland')), 'FG_ERR_AUTH_THROTTLED', 'throttled')
  })

  it('accepts a burst of the same right login on a cold cache whole (the dashboard opens with parallel XHRs)', async () => {
    const auth = await authenticator(htpasswdFile(`alice:${aliceHash}\n`), {
      throttle: { maxFailuresPerUser: 2, maxFailuresPerAddress: 2, windowSec: 60 },
    })
    const outcomes = await Promise.all(
      Array.from({ length: 20 }, () => auth.authenticate(login('alice', 'wonderland'))),
    )
    expect(outcomes.map((outcome) => outcome.kind)).toEqual(Array(20).fill('accepted'))
    // And the throttle still counts guesses: two wrong passwords lock the user out.
    for (const guess of ['guess-1', 'guess-2']) {
      expectRefused(
        await auth.authenticate(login('alice', guess)),
        'FG_ERR_AUTH_BAD_CREDENTIALS',
        'bad_password',
      )
    }
    expectRefused(await auth.authenticate(login('alice', 'wonderland')), 'FG_ERR_AUTH_THROTTLED', 'throttled')
  })

  it('throttles one client address spraying many user names, other addresses unaffected', async () => {
    const auth = await authenticator(htpasswdFile(`alice:${aliceHash}\n`), {
      throttle: { maxFailuresPerUser: 100, maxFailuresPerAddress: 3, windowSec: 60 },
    })
    for (let i = 0; i < 3; i += 1) {
      expectRefused(
        await auth.authenticate(login(`user${i}`, 'x', '2001:db8:1:2::10')),
        'FG_ERR_AUTH_BAD_CREDENTIALS',
        'unknown_user',
      )
    }
    // Another address in the same IPv6 /64 is the same client.
    expectRefused(
      await auth.authenticate(login('user9', 'x', '2001:db8:1:2::99')),
      'FG_ERR_AUTH_THROTTLED',
      'throttled',
    )
    expect((await auth.authenticate(login('alice', 'wonderland', '192.0.2.1'))).kind).toBe('accepted')
  })

  it('a success takes back only its own attempt: the real user logging in does not reset a guesser', async () => {
    const auth = await authenticator(htpasswdFile(`alice:${aliceHash}\n`), {
      throttle: { maxFailuresPerUser: 4, maxFailuresPerAddress: 1000, windowSec: 60 },
    })
    for (let round = 0; round < 2; round += 1) {
      expectRefused(
        await auth.authenticate(login('alice', `typo-${round}`)),
        'FG_ERR_AUTH_BAD_CREDENTIALS',
        'bad_password',
      )
      expect((await auth.authenticate(login('alice', 'wonderland', '192.0.2.77'))).kind).toBe('accepted')
    }
    for (const guess of ['typo-2', 'typo-3']) {
      expectRefused(
        await auth.authenticate(login('alice', guess)),
        'FG_ERR_AUTH_BAD_CREDENTIALS',
        'bad_password',
      )
    }
    expectRefused(await auth.authenticate(login('alice', 'typo-4')), 'FG_ERR_AUTH_THROTTLED', 'throttled')
  })

  it('picks up a changed file: new user in, removed user and cached success out', async () => {
    const logger = recordingLogger()
    const file = htpasswdFile(`alice:${aliceHash}\n`)
    const auth = await authenticator(file, {}, logger)
    expect((await auth.authenticate(login('alice', 'wonderland'))).kind).toBe('accepted')

    // Written beside it and renamed into place, as editors and config management do.
    writeFileSync(`${file}.tmp`, `bob:${bobHash}\n`)
    renameSync(`${file}.tmp`, file)
    await eventually(async () => (await auth.authenticate(login('bob', 'builder'))).kind === 'accepted')
    expectRefused(
      await auth.authenticate(login('alice', 'wonderland')),
      'FG_ERR_AUTH_BAD_CREDENTIALS',
      'unknown_user',
    )
    expect(logger.lines.some((line) => line.message === 'htpasswd reloaded')).toBe(true)
  })

  it('keeps the previous file when a new version has a bad line, and logs why', async () => {
    const logger = recordingLogger()
    const file = htpasswdFile(`alice:${aliceHash}\n`)
    const auth = await authenticator(file, {}, logger)
    writeFileSync(file, `alice:${aliceHash}\nbob:plaintext-password\n`)
    await auth.reload()
    const refused = logger.lines.find(
      (line) => line.message === 'htpasswd file refused; the previous version stays in use',
    )
    expect(refused?.details.problems).toEqual([
      `${file} line 2 (user "bob"): a plaintext password, refused (re-hash it, or set allowWeakHashes to accept)`,
    ])
    expect(JSON.stringify(logger.lines)).not.toContain('plaintext-password')
    expect((await auth.authenticate(login('alice', 'wonderland'))).kind).toBe('accepted')
    expect(auth.ready()).toEqual({ ok: true })
  })

  it('refuses to start on a file with weak or bad hashes, naming auth.basic.htpasswd, unless allowWeakHashes', async () => {
    const file = htpasswdFile('alice:hunter2\n')
    await expect(authenticator(file)).rejects.toMatchObject({
      code: 'FG_ERR_CONFIG_INVALID',
      message: expect.stringContaining('"auth.basic.htpasswd"'),
    })
    await expect(authenticator(join(tmpdir(), 'no-such-dir', 'x.htpasswd'))).rejects.toMatchObject({
      code: 'FG_ERR_CONFIG_INVALID',
      message: expect.stringContaining('cannot read (ENOENT)'),
    })
    const weak = await authenticator(file, { allowWeakHashes: true })
    expect((await weak.authenticate(login('alice', 'hunter2'))).kind).toBe('accepted')
  })

  it('verifies a password with colons and non-ASCII characters', async () => {
    const auth = await authenticator(htpasswdFile(`jürgen:${hashSync('pä:ss:wört', 4)}\n`))
    expect((await auth.authenticate(login('jürgen', 'pä:ss:wört'))).kind).toBe('accepted')
  })
})
