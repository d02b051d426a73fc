import { type CryptoKey, calculateJwkThumbprint, importJWK, type JWK } from 'jose'

/** JWK members that only a private or symmetric key has: such a key is never used to verify. */
const SECRET_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth', 'priv'] as const

interface KeyEntry {
  readonly jwk: JWK
  /** RFC 7638 thumbprint: the key's identity, even when an IdP reuses a `kid` for new key material. */
  readonly thumbprint: string
  readonly imported: Map<string, Promise<CryptoKey>>
}

/** Which key types and curves may verify each algorithm (RFC 7518 §3, RFC 8037). */
function fitsAlgorithm(jwk: JWK, alg: string): boolean {
  if (jwk.alg !== undefined && jwk.alg !== alg) return false
  if (jwk.use !== undefined && jwk.use !== 'sig') return false
  if (jwk.key_ops !== undefined && !jwk.key_ops.includes('verify')) return false
  if (/^(RS|PS)(256|384|512)$/.test(alg)) return jwk.kty === 'RSA'
  if (alg === 'ES256') return jwk.kty === 'EC' && jwk.crv === 'P-256'
  if (alg === 'ES384') return jwk.kty === 'EC' && jwk.crv === 'P-384'
  if (alg === 'ES512') return jwk.kty === 'EC' && jwk.crv === 'P-521'
  if (alg === 'EdDSA') return jwk.kty === 'OKP' && (jwk.crv === 'Ed25519' || jwk.crv === 'Ed448')
  if (alg === 'Ed25519') return jwk.kty === 'OKP' && jwk.crv === 'Ed25519'
  return false
}

/** Why a JWK from a key source is not used, or null when it is a public signature key. */
function unusable(jwk: JWK): string | null {
  if (jwk.kty === 'oct') return 'a symmetric (oct) key'
  if (jwk.kty !== 'RSA' && jwk.kty !== 'EC' && jwk.kty !== 'OKP') return `key type "${String(jwk.kty)}"`
  if (SECRET_MEMBERS.some((member) => member in jwk)) return 'a private key'
  if (jwk.use !== undefined && jwk.use !== 'sig') return `use "${jwk.use}"`
  return null
}

/**
 * An immutable set of public verification keys. Only `kid` and `alg` from a token's header choose among
 * them; `jku`, `x5u`, `jwk` and `x5c` are never read, so a token cannot bring or point at its own key.
 */
export class KeySet {
  readonly #entries: readonly KeyEntry[]
  readonly thumbprints: ReadonlySet<string>

  private constructor(entries: readonly KeyEntry[]) {
    this.#entries = entries
    this.thumbprints = new Set(entries.map((entry) => entry.thumbprint))
  }

  static readonly EMPTY = new KeySet([])

  /** Builds a set from JWKs, keeping the public signature keys and saying why each other one was left out. */
  static async fromJwks(keys: readonly JWK[]): Promise<{ keySet: KeySet; ignored: string[] }> {
    const entries: KeyEntry[] = []
    const ignored: string[] = []
    for (const [index, jwk] of keys.entries()) {
      const name = `key ${index}${jwk.kid === undefined ? '' : ` (kid "${jwk.kid}")`}`
      const why = unusable(jwk)
      if (why !== null) {
        ignored.push(`${name}: ${why}`)
        continue
      }
      try {
        entries.push({ jwk, thumbprint: await calculateJwkThumbprint(jwk), imported: new Map() })
      } catch (err) {
        ignored.push(`${name}: ${(err as Error).message}`)
      }
    }
    return { keySet: new KeySet(entries), ignored }
  }

  get size(): number {
    return this.#entries.length
  }

  /**
   * Keys that may have signed a token with this header: same `kid` (keys without one match any), a key type
   * and curve that fit `alg`. Several candidates are tried in turn; none means the key is unknown.
   */
  candidates(alg: string, kid: string | undefined): readonly KeyEntry[] {
    return this.#entries.filter(
      (entry) =>
        (kid === undefined || entry.jwk.kid === undefined || entry.jwk.kid === kid) &&
        fitsAlgorithm(entry.jwk, alg),
    )
  }

  /** The entry's key imported for `alg`, imported once per set and algorithm. */
  key(entry: KeyEntry, alg: string): Promise<CryptoKey> {
    let key = entry.imported.get(alg)
    if (key === undefined) {
      key = importJWK({ ...entry.jwk, ext: false }, alg) as Promise<CryptoKey>
      entry.imported.set(alg, key)
    }
    return key
  }
}

export type { KeyEntry }
