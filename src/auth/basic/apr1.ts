import { createHash } from 'node:crypto'

/** crypt(3)'s base-64 alphabet, which is not RFC 4648's. */
const ITOA64 = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'
const APR1_MAGIC = '$apr1$'
const MAX_SALT_LENGTH = 8
/** The fixed iteration count of MD5-crypt, chosen in 1994 to take about 34 ms; today it takes ~0.1 ms. */
const ROUNDS = 1000

const md5 = (...parts: (Buffer | string)[]): Buffer => {
  const hash = createHash('md5')
  for (const part of parts) hash.update(part)
  return hash.digest()
}

function to64(value: number, characters: number): string {
  let out = ''
  for (let left = value, n = characters; n > 0; n -= 1, left >>= 6) out += ITOA64[left & 0x3f]
  return out
}

/**
 * Apache's `$apr1$` hash: Poul-Henning Kamp's MD5-crypt with Apache's magic string (apr_md5_encode in
 * apr-util/crypto/apr_md5.c). `salt` is up to 8 characters; a full `$apr1$salt$...` string is accepted too.
 */
export function apr1(password: string, salt: string): string {
  const saltText = (salt.startsWith(APR1_MAGIC) ? salt.slice(APR1_MAGIC.length) : salt)
    .split('$')[0]!
    .slice(0, MAX_SALT_LENGTH)
  const pw = Buffer.from(password, 'utf8')

  const alternate = md5(pw, saltText, pw)
  const context = createHash('md5').update(pw).update(APR1_MAGIC).update(saltText)
  for (let left = pw.length; left > 0; left -= 16) context.update(alternate.subarray(0, Math.min(left, 16)))
  // A quirk of the original: for each bit of the length, a NUL byte or the first byte of the password.
  for (let bits = pw.length; bits > 0; bits >>= 1)
    context.update(bits & 1 ? Buffer.alloc(1) : pw.subarray(0, 1))
  let final = context.digest()

  for (let round = 0; round < ROUNDS; round += 1) {
    const step = createHash('md5')
    step.update(round & 1 ? pw : final)
    if (round % 3 !== 0) step.update(saltText)
    if (round % 7 !== 0) step.update(pw)
    step.update(round & 1 ? final : pw)
    final = step.digest()
  }

  const b = (index: number) => final[index]!
  const encoded =
    to64((b(0) << 16) | (b(6) << 8) | b(12), 4) +
    to64((b(1) << 16) | (b(7) << 8) | b(13), 4) +
    to64((b(2) << 16) | (b(8) << 8) | b(14), 4) +
    to64((b(3) << 16) | (b(9) << 8) | b(15), 4) +
    to64((b(4) << 16) | (b(10) << 8) | b(5), 4) +
    to64(b(11), 2)
  return `${APR1_MAGIC}${saltText}$${encoded}`
}
