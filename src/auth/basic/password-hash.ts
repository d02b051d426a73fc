import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import { hash as bcryptHash, verify as bcryptVerify } from '@node-rs/bcrypt'
import { apr1 } from './apr1.js'

/** A password hash read from an htpasswd line, by scheme. */
export type PasswordHash =
  | { readonly scheme: 'bcrypt'; readonly hash: string; readonly cost: number }
  | { readonly scheme: 'apr1'; readonly hash: string }
  | { readonly scheme: 'sha1'; readonly hash: string }
  /** Only with `allowWeakHashes`. */
  | { readonly scheme: 'plain'; readonly password: string }

const BCRYPT = /^\$2[aby]\$(\d\d)\$[./A-Za-z0-9]{53}$/
const APR1 = /^\$apr1\$[^$]{0,8}\$[./0-9A-Za-z]{22}$/
const SHA1 = /^\{SHA\}[A-Za-z0-9+/]{27}=$/
/** Traditional DES crypt(3): 2 salt characters and 11 hash characters. */
const DES_CRYPT = /^[./0-9A-Za-z]{13}$/

/** Recognises an htpasswd hash field: the hash, or why it cannot be used (never echoing the field). */
export function parsePasswordHash(field: string, allowWeakHashes: boolean): PasswordHash | string {
  const bcrypt = BCRYPT.exec(field)
  if (bcrypt) return { scheme: 'bcrypt', hash: field, cost: Number(bcrypt[1]) }
  if (APR1.test(field)) return { scheme: 'apr1', hash: field }
  if (SHA1.test(field)) return { scheme: 'sha1', hash: field }
  if (field.startsWith('$') || field.startsWith('{')) {
    return 'an unsupported or malformed hash (use bcrypt: flink-guard hash-password, or htpasswd -B)'
  }
  // Apache on Unix reads a 13-character field as DES crypt(3); flink-guard cannot verify it, so says so.
  if (DES_CRYPT.test(field)) {
    return 'a crypt(3) DES hash, which is weak and not supported (re-hash with flink-guard hash-password)'
  }
  if (!allowWeakHashes) return 'a plaintext password, refused (re-hash it, or set allowWeakHashes to accept)'
  return { scheme: 'plain', password: field }
}

/** Compares two strings in time independent of where they differ (their digests have equal lengths). */
function sameSecret(a: string, b: string): boolean {
  const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest()
  return timingSafeEqual(digest(a), digest(b))
}

/** bcrypt reads only the first 72 bytes of a password: any suffix past them would pass unseen. */
export const MAX_BCRYPT_PASSWORD_BYTES = 72

/** bcrypt runs on libuv's thread pool, so a verification (tens of ms at cost 10-12) never blocks requests. */
export async function verifyPassword(hash: PasswordHash, password: string): Promise<boolean> {
  switch (hash.scheme) {
    case 'bcrypt': {
      // Still run bcrypt on a longer password, so refusing it takes as long as any other wrong one.
      const matches = await bcryptVerify(password, hash.hash).catch(() => false)
      return matches && Buffer.byteLength(password, 'utf8') <= MAX_BCRYPT_PASSWORD_BYTES
    }
    case 'apr1':
      return sameSecret(apr1(password, hash.hash), hash.hash)
    case 'sha1':
      return sameSecret(`{SHA}${createHash('sha1').update(password, 'utf8').digest('base64')}`, hash.hash)
    case 'plain':
      return sameSecret(password, hash.password)
  }
}

/** What a hash costs to verify: one dummy per scheme and bcrypt cost makes an unknown user cost the same. */
function costClass(hash: PasswordHash): string {
  return hash.scheme === 'bcrypt' ? `bcrypt-${hash.cost}` : hash.scheme
}

async function dummyLike(model: PasswordHash | undefined): Promise<PasswordHash> {
  const random = randomBytes(18).toString('base64')
  switch (model?.scheme) {
    case 'bcrypt':
      return { scheme: 'bcrypt', hash: await bcryptHash(random, model.cost), cost: model.cost }
    case 'apr1':
    case undefined:
      return { scheme: 'apr1', hash: apr1(random, randomBytes(6).toString('base64').replace(/\+/g, '.')) }
    case 'sha1':
      return { scheme: 'sha1', hash: `{SHA}${createHash('sha1').update(random).digest('base64')}` }
    case 'plain':
      return { scheme: 'plain', password: random }
  }
}

/**
 * The hash an unknown user is checked against, so a timing probe cannot list the users: one dummy per
 * scheme and bcrypt cost in the file, and each unknown name mapped to one of them by a keyed hash of the
 * name, in the proportions of the file's users. An unknown name then answers as fast or as slow as some
 * real user would, the same every time while the file is unchanged (the key is the file's digest).
 */
export async function dummyHashes(
  hashes: readonly PasswordHash[],
  key: string,
): Promise<(user: string) => PasswordHash> {
  const byClass = new Map<string, Promise<PasswordHash>>()
  for (const hash of hashes) {
    const cost = costClass(hash)
    if (!byClass.has(cost)) byClass.set(cost, dummyLike(hash))
  }
  const dummies = new Map<string, PasswordHash>()
  for (const [cost, dummy] of byClass) dummies.set(cost, await dummy)
  // One entry per user, pointing at the dummy of its class: picking an index uniformly keeps the proportions.
  const table = hashes.map((hash) => dummies.get(costClass(hash))!)
  const fallback = await dummyLike(undefined)
  return (user) => {
    if (table.length === 0) return fallback
    const digest = createHmac('sha256', key).update(user, 'utf8').digest()
    return table[digest.readUInt32BE(0) % table.length]!
  }
}
