import { createHash, createSecretKey, hkdfSync, type KeyObject } from 'node:crypto'
import { EncryptJWT, type JWTPayload, jwtDecrypt } from 'jose'

/** What a sealed token is for: a key derived for one purpose never opens a token of another. */
export type SealPurpose = 'session' | 'login'

interface CookieKey {
  readonly kid: string
  /** A KeyObject, so jose does not import raw bytes again on every call. */
  readonly key: KeyObject
}

/** RFC 7518 §5.3: A256GCM with `dir` takes the 32-byte content key as is. */
const KEY_BYTES = 32
const INFO_PREFIX = 'flink-guard oidc cookie v1: '

/**
 * JWE (compact, `dir` + `A256GCM`) tokens sealed with keys derived from `auth.oidc.cookieSecret` by
 * HKDF-SHA-256 (RFC 5869), one key per secret and purpose. The first secret seals; every secret opens, so a
 * new secret can be put first while cookies sealed with the old one still work. The `kid` (a hash of the
 * derived key, never the key) picks the key; the secret never leaves this object.
 */
export class SealedTokens {
  readonly #keys: readonly CookieKey[]
  readonly #purpose: SealPurpose

  constructor(secrets: string | readonly string[], purpose: SealPurpose) {
    const list = typeof secrets === 'string' ? [secrets] : secrets
    if (list.length === 0) throw new Error('at least one cookie secret is needed')
    this.#purpose = purpose
    this.#keys = list.map((secret) => {
      const bytes = Buffer.from(hkdfSync('sha256', secret, '', `${INFO_PREFIX}${purpose}`, KEY_BYTES))
      return {
        kid: createHash('sha256').update(bytes).digest('base64url').slice(0, 16),
        key: createSecretKey(bytes),
      }
    })
  }

  /** Seals `claims`, valid until `expiresAt` (epoch seconds). */
  async seal(claims: JWTPayload, expiresAt: number): Promise<string> {
    const { kid, key } = this.#keys[0]!
    return new EncryptJWT(claims)
      .setProtectedHeader({ alg: 'dir', enc: 'A256GCM', kid, typ: `fg-${this.#purpose}+jwt` })
      .setIssuedAt()
      .setExpirationTime(expiresAt)
      .encrypt(key)
  }

  /** The claims, or null when the token is not one of ours, was altered, or has expired. */
  async open(token: string): Promise<JWTPayload | null> {
    try {
      const { payload } = await jwtDecrypt(token, (header) => this.#keyFor(header.kid), {
        keyManagementAlgorithms: ['dir'],
        contentEncryptionAlgorithms: ['A256GCM'],
        typ: `fg-${this.#purpose}+jwt`,
        requiredClaims: ['exp'],
      })
      return payload
    } catch {
      return null
    }
  }

  #keyFor(kid: string | undefined): KeyObject {
    const found = this.#keys.find((candidate) => candidate.kid === kid)
    if (found === undefined) throw new Error('unknown key')
    return found.key
  }
}
