import { hashSync } from '@node-rs/bcrypt'
import { describe, expect, it } from 'vitest'
import { apr1 } from '../../src/auth/basic/apr1.js'
import { decodeBasicCredentials } from '../../src/auth/basic/basic-credentials.js'
import { parseHtpasswd } from '../../src/auth/basic/htpasswd.js'
import { dummyHashes, parsePasswordHash, verifyPassword } from '../../src/auth/basic/password-hash.js'
import { addressKey } from '../../src/auth/basic/throttle.js'

/** Made with `openssl passwd -apr1 -salt <salt> <password>`. */
const APR1_VECTORS = [
  ['password', 'abc', '$apr1$abc$mehJE/UcwZsj.w5DYe.b5.'],
  ['hunter2', 'saltsalt', '$apr1$saltsalt$r/QcFGT5pNL28bNkeDMHR.'],
  ['', 'x', '$apr1$x$tMwYqBfQwi3FYAr0aJc8M/'],
  ['p@ss wörd', '12345678', '$apr1$12345678$wmUqd/Jjzm9bV68ybkGZq1'],
  ['a-much-longer-password-than-sixteen-bytes-yes-indeed', 'Zz./', '$apr1$Zz./$0ejHJVM6YIchxpRRWzVh1/'],
] as const

/** Made with `printf <password> | openssl sha1 -binary | base64`. */
const SHA_VECTORS = [
  ['secret', '{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ='],
  ['p@ss wörd', '{SHA}iFXrzdzW6SkQ4l5UHiG/hH6VbME='],
] as const

/** bcrypt in each prefix: PHP's password_hash documentation ($2y$), crypt_blowfish's test vectors ($2a$). */
const BCRYPT_VECTORS = [
  ['rasmuslerdorf', '$2y$10$.vGA1O9wmRjrwAVXD98HNOgsNpDczlqm3Jq7KnEd1rVAGv3Fykk1a'],
  ['U*U', '$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW'],
  ['b-prefix', hashSync('b-prefix', 4)],
] as const

const parsed = (field: string) => {
  const hash = parsePasswordHash(field, false)
  if (typeof hash === 'string') throw new Error(hash)
  return hash
}

describe('htpasswd hash schemes', () => {
  it.each(APR1_VECTORS)('apr1 of %j with salt %j matches openssl', (password, salt, expected) => {
    expect(apr1(password, salt)).toBe(expected)
    expect(apr1(password, expected)).toBe(expected)
  })

  it.each([...APR1_VECTORS.map(([p, , h]) => [p, h] as const), ...SHA_VECTORS, ...BCRYPT_VECTORS])(
    'verifies %j against %s, and refuses a wrong password',
    async (password, field) => {
      const hash = parsed(field)
      expect(await verifyPassword(hash, password)).toBe(true)
      expect(await verifyPassword(hash, `${password}x`)).toBe(false)
    },
  )

  it('reads the bcrypt cost and the $2b$ prefix bcrypt libraries emit', () => {
    expect(parsed(BCRYPT_VECTORS[0][1])).toMatchObject({ scheme: 'bcrypt', cost: 10 })
    expect(BCRYPT_VECTORS[2][1]).toMatch(/^\$2b\$04\$/)
  })

  it.each([
    ['plaintext', 'hunter2', 'plaintext password, refused'],
    ['DES crypt(3)', 'rl0uE2rJ2SQdI', 'crypt(3) DES hash'],
    ['glibc SHA-512 crypt', '$6$salt$abc', 'unsupported or malformed'],
    ['a truncated bcrypt', '$2y$10$tooshort', 'unsupported or malformed'],
    ['an unknown braced scheme', '{SSHA}abc', 'unsupported or malformed'],
  ])('refuses %s', (_name, field, message) => {
    expect(parsePasswordHash(field, false)).toContain(message)
  })

  it('accepts plaintext only with allowWeakHashes, still not DES crypt', async () => {
    const plain = parsePasswordHash('hunter2', true)
    expect(plain).toEqual({ scheme: 'plain', password: 'hunter2' })
    expect(await verifyPassword(plain as { scheme: 'plain'; password: string }, 'hunter2')).toBe(true)
    expect(parsePasswordHash('rl0uE2rJ2SQdI', true)).toContain('crypt(3) DES')
  })

  it('maps unknown users onto one dummy per scheme and cost, in the proportions of the file, stably', async () => {
    const hashes = [parsed(SHA_VECTORS[0][1]), parsed(BCRYPT_VECTORS[1][1]), parsed(APR1_VECTORS[0][2])]
    const dummyFor = await dummyHashes(hashes, 'file-digest')
    const names = Array.from({ length: 300 }, (_, i) => `nobody-${i}`)
    const schemes = names.map((name) => dummyFor(name).scheme)
    for (const scheme of ['sha1', 'bcrypt', 'apr1']) {
      expect(schemes.filter((s) => s === scheme).length).toBeGreaterThan(60)
    }
    expect(names.map((name) => dummyFor(name).scheme)).toEqual(schemes)
    expect(dummyFor('nobody-0')).toBe(dummyFor('nobody-0'))
    const bcrypt = names.map(dummyFor).find((hash) => hash.scheme === 'bcrypt')!
    expect(bcrypt).toMatchObject({ cost: 5 })
    expect(await verifyPassword(bcrypt, '')).toBe(false)
    expect((await dummyHashes([], 'x'))('anyone').scheme).toBe('apr1')
  })

  it('refuses a password past 72 bytes against bcrypt, though bcrypt would read only its first 72', async () => {
    const password = 'p'.repeat(72)
    const hash = parsed(hashSync(password, 4))
    expect(await verifyPassword(hash, password)).toBe(true)
    expect(await verifyPassword(hash, `${password}anything`)).toBe(false)
  })
})

describe('htpasswd files', () => {
  it('reads users, skipping comments, blank lines and CRLF endings', () => {
    const text = `# team\r\nalice:${APR1_VECTORS[0][2]}\r\n\n  bob:${SHA_VECTORS[0][1]}  \ncarol:${BCRYPT_VECTORS[0][1]}\n`
    const { users, problems } = parseHtpasswd(text, false)
    expect(problems).toEqual([])
    expect([...users.keys()]).toEqual(['alice', 'bob', 'carol'])
  })

  it('reports every bad line with its number and user, never the hash', () => {
    const text = [
      'alice:hunter2',
      'no-colon-here',
      `bob:${SHA_VECTORS[0][1]}`,
      `bob:${SHA_VECTORS[1][1]}`,
      ':x',
    ].join('\n')
    const { problems } = parseHtpasswd(text, false)
    expect(problems).toEqual([
      'line 1 (user "alice"): a plaintext password, refused (re-hash it, or set allowWeakHashes to accept)',
      'line 2: expected "user:hash"',
      'line 4: user "bob" appears twice',
      'line 5: expected "user:hash"',
    ])
    expect(problems.join()).not.toContain('hunter2')
  })
})

describe('Basic credentials', () => {
  const encode = (text: string) => Buffer.from(text, 'utf8').toString('base64')

  it('decodes user and password as UTF-8, the password keeping its colons', () => {
    expect(decodeBasicCredentials(encode('alice:s3:cr:et'))).toEqual({ user: 'alice', password: 's3:cr:et' })
    expect(decodeBasicCredentials(encode('jürgen:pässword'))).toEqual({
      user: 'jürgen',
      password: 'pässword',
    })
    expect(decodeBasicCredentials(encode('alice:secret').replace(/=+$/, ''))).toEqual({
      user: 'alice',
      password: 'secret',
    })
  })

  it.each([
    ['not base64', 'alice:secret'],
    ['no colon', encode('alice')],
    ['an empty user', encode(':secret')],
    ['invalid UTF-8', Buffer.from([0x61, 0xff, 0x3a, 0x62]).toString('base64')],
    ['a control character in the user', encode('ali\nce:secret')],
    ['padding where none belongs', 'YWxpY2U6c2VjcmV0=='],
    ['half the padding', 'YWxpY2U6c2VjcmU6YQ='],
    ['trailing bits set', 'YWxpY2U6c2VjcmV='],
  ])('refuses %s', (_name, value) => {
    expect(decodeBasicCredentials(value)).toBeNull()
  })
})

describe('throttle address keys', () => {
  it.each([
    ['192.0.2.7', '192.0.2.7'],
    ['::ffff:192.0.2.7', '192.0.2.7'],
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2::/64'],
    ['2001:db8:1:2::9', '2001:db8:1:2::/64'],
    ['2001:db8::1', '2001:db8:0:0::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
    ['::1', '0:0:0:0::/64'],
  ])('%s counts as %s', (address, key) => {
    expect(addressKey(address)).toBe(key)
  })
})
