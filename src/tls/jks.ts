import { createHash, timingSafeEqual } from 'node:crypto'
import { StoreError } from './store-error.js'

/**
 * A reader for Java's JKS keystore format (`keytool -storetype JKS`), which Node cannot read and no
 * maintained npm package reads with key-password support. The format (sun.security.provider.JavaKeyStore):
 *
 *   magic 0xFEEDFEED, version 1|2, entry count, then per entry: tag (1 private key, 2 trusted cert),
 *   alias (Java modified UTF-8), timestamp (8 bytes); a key entry holds an EncryptedPrivateKeyInfo
 *   protected by Sun's KeyProtector and its certificate chain; a cert entry one certificate. Then a
 *   SHA-1 over (password as UTF-16BE, "Mighty Aphrodite", every preceding byte): the store's integrity.
 */

const MAGIC = 0xfeedfeed
const TAG_PRIVATE_KEY = 1
const TAG_TRUSTED_CERT = 2
const INTEGRITY_SALT = Buffer.from('Mighty Aphrodite', 'utf8')
/** OID 1.3.6.1.4.1.42.2.17.1.1: Sun's KeyProtector, the only protection keytool writes into JKS. */
const KEY_PROTECTOR_OID = Buffer.from('060a2b060104012a02110101', 'hex')
const SHA1_BYTES = 20

export type JksEntry =
  | { readonly kind: 'key'; readonly alias: string; readonly protectedKey: Buffer; readonly chain: Buffer[] }
  | { readonly kind: 'cert'; readonly alias: string; readonly cert: Buffer }

export function isJks(data: Buffer): boolean {
  return data.length >= 4 && data.readUInt32BE(0) === MAGIC
}

/** Java's `char[]` password as the bytes JKS hashes: UTF-16BE. */
const passwordBytes = (password: string) => Buffer.from(password, 'utf16le').swap16()

class Reader {
  offset = 0
  constructor(private readonly data: Buffer) {}
  need(bytes: number): void {
    if (this.offset + bytes > this.data.length) throw new StoreError('corrupt', 'the JKS file is truncated')
  }
  u16(): number {
    this.need(2)
    this.offset += 2
    return this.data.readUInt16BE(this.offset - 2)
  }
  u32(): number {
    this.need(4)
    this.offset += 4
    return this.data.readUInt32BE(this.offset - 4)
  }
  bytes(length: number): Buffer {
    this.need(length)
    this.offset += length
    return this.data.subarray(this.offset - length, this.offset)
  }
  /** DataInputStream.readUTF: a 2-byte length, then modified UTF-8 (plain UTF-8 for the aliases keytool writes). */
  utf(): string {
    return this.bytes(this.u16()).toString('utf8')
  }
}

/** Parses a JKS store and checks its integrity with the store password. */
export function parseJks(data: Buffer, storePassword: string): JksEntry[] {
  if (data.length < 12 + SHA1_BYTES) throw new StoreError('corrupt', 'the JKS file is truncated')
  const body = data.subarray(0, data.length - SHA1_BYTES)
  const expected = data.subarray(data.length - SHA1_BYTES)
  const actual = createHash('sha1')
    .update(passwordBytes(storePassword))
    .update(INTEGRITY_SALT)
    .update(body)
    .digest()
  if (!timingSafeEqual(actual, expected)) {
    throw new StoreError('wrong-store-password', 'the keystore password is wrong (or the file was altered)')
  }
  const reader = new Reader(body)
  if (reader.u32() !== MAGIC) throw new StoreError('corrupt', 'not a JKS file')
  const version = reader.u32()
  if (version !== 1 && version !== 2) throw new StoreError('corrupt', `unsupported JKS version ${version}`)
  const count = reader.u32()
  const entries: JksEntry[] = []
  const readCert = (): Buffer => {
    if (version === 2) {
      const type = reader.utf()
      if (type !== 'X.509') throw new StoreError('corrupt', `unsupported certificate type ${type}`)
    }
    return Buffer.from(reader.bytes(reader.u32()))
  }
  for (let i = 0; i < count; i++) {
    const tag = reader.u32()
    const alias = reader.utf()
    reader.bytes(8) // creation time
    if (tag === TAG_PRIVATE_KEY) {
      const protectedKey = Buffer.from(reader.bytes(reader.u32()))
      const chain: Buffer[] = []
      for (let n = reader.u32(); n > 0; n--) chain.push(readCert())
      entries.push({ kind: 'key', alias, protectedKey, chain })
    } else if (tag === TAG_TRUSTED_CERT) {
      entries.push({ kind: 'cert', alias, cert: readCert() })
    } else {
      throw new StoreError('corrupt', `unknown JKS entry tag ${tag}`)
    }
  }
  return entries
}

/**
 * Recovers the PKCS#8 private key of a JKS key entry (sun.security.provider.KeyProtector): the encrypted
 * data is salt (20) || key XOR keystream || SHA-1(password || key), the keystream being the chain
 * d1 = SHA-1(password || salt), dn = SHA-1(password || dn-1).
 */
export function decryptJksKey(protectedKey: Buffer, keyPassword: string): Buffer {
  const encrypted = encryptedDataOf(protectedKey)
  if (encrypted.length <= 2 * SHA1_BYTES) throw new StoreError('corrupt', 'the JKS key entry is truncated')
  const password = passwordBytes(keyPassword)
  const salt = encrypted.subarray(0, SHA1_BYTES)
  const cipher = encrypted.subarray(SHA1_BYTES, encrypted.length - SHA1_BYTES)
  const check = encrypted.subarray(encrypted.length - SHA1_BYTES)
  const key = Buffer.alloc(cipher.length)
  let digest: Buffer = salt
  for (let i = 0; i < cipher.length; i += SHA1_BYTES) {
    digest = createHash('sha1').update(password).update(digest).digest()
    for (let j = 0; j < SHA1_BYTES && i + j < cipher.length; j++) key[i + j] = cipher[i + j]! ^ digest[j]!
  }
  const actual = createHash('sha1').update(password).update(key).digest()
  if (!timingSafeEqual(actual, check)) throw new StoreError('wrong-key-password', 'the key password is wrong')
  return key
}

/**
 * EncryptedPrivateKeyInfo ::= SEQUENCE { AlgorithmIdentifier, OCTET STRING }: just enough DER to check the
 * algorithm is the KeyProtector and take the octets.
 */
function encryptedDataOf(info: Buffer): Buffer {
  let offset = 0
  const header = (expectedTag: number): number => {
    if (info[offset] !== expectedTag) throw new StoreError('corrupt', 'the JKS key entry is not DER')
    let length = info[offset + 1]!
    offset += 2
    if (length & 0x80) {
      const bytes = length & 0x7f
      length = 0
      for (let i = 0; i < bytes; i++) length = length * 256 + info[offset + i]!
      offset += bytes
    }
    return length
  }
  header(0x30)
  const algorithmLength = header(0x30)
  const algorithm = info.subarray(offset, offset + algorithmLength)
  if (!algorithm.subarray(0, KEY_PROTECTOR_OID.length).equals(KEY_PROTECTOR_OID)) {
    throw new StoreError(
      'unsupported',
      'the JKS key is protected by an algorithm other than the JKS KeyProtector',
    )
  }
  offset += algorithmLength
  const dataLength = header(0x04)
  return info.subarray(offset, offset + dataLength)
}
