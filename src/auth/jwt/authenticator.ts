import { hash } from 'node:crypto'
import { decodeProtectedHeader, type JWTPayload, type JWTVerifyOptions, jwtVerify } from 'jose'
import { ConfigError } from '../../config/load.js'
import type { CheckResult } from '../../observability/health.js'
import type { Authenticator, AuthOutcome, AuthRefusal, Credentials } from '../authenticator.js'
import { schemeCredential } from '../authorization-header.js'
import type { Identity } from '../identity.js'
import type { AuthenticatorOptions } from '../logger.js'
import { frozenIdentity, refusal } from '../refusal.js'
import { TtlCache } from '../ttl-cache.js'
import { rolesFrom, subjectFrom } from './claims.js'
import { type JwtConfig, jwtConfigProblems } from './config.js'
import { KeySet } from './key-set.js'
import { type JwtRefusalReason, reasonFor } from './reasons.js'
import { RemoteKeySource } from './remote-keys.js'
import { readKeyFiles } from './static-keys.js'

/** Real tokens are 1-4 KiB; a cap refuses an oversized one before any base64 or JSON work. */
export const MAX_TOKEN_LENGTH = 16 * 1024
/** Compact JWS: three base64url parts (the signature is empty for alg "none", refused by the allowlist). */
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/
/** The cache marks tokens verified with the HS* secret with this in place of a key thumbprint. */
const SHARED_SECRET = 'secret'

interface VerifiedToken {
  readonly identity: Identity
  /** Thumbprint of the key that verified it: the entry goes when that key leaves the JWKS. */
  readonly thumbprint: string
}

/**
 * Bearer JWT authentication (RFC 6750 §2.1: only the Authorization header; a token in the query string is
 * never looked at). Keys come from a JWKS URL, OIDC discovery of the issuer, or static key files.
 *
 *     const jwt = await JwtAuthenticator.create(config.auth.jwt, { logger: app.log })
 *     // or: const jwt = new JwtAuthenticator(config.auth.jwt, { logger }); await jwt.start()
 */
export class JwtAuthenticator implements Authenticator {
  readonly method = 'jwt' as const
  readonly #config: JwtConfig
  readonly #verifyOptions: JWTVerifyOptions
  readonly #algorithms: ReadonlySet<string>
  readonly #secret: Uint8Array | null
  readonly #cache: TtlCache<string, VerifiedToken>
  readonly #remote: RemoteKeySource | null
  #staticKeys: KeySet | null = null

  /** Throws a ConfigError (FG_ERR_CONFIG_INVALID) naming every problem of a config the schema let through. */
  constructor(config: JwtConfig, options: AuthenticatorOptions) {
    const problems = jwtConfigProblems(config)
    if (problems.length > 0) throw new ConfigError('auth.jwt', problems)
    this.#config = config
    this.#algorithms = new Set(config.algorithms)
    this.#secret = config.secret === undefined ? null : new TextEncoder().encode(config.secret)
    this.#verifyOptions = {
      algorithms: config.algorithms,
      clockTolerance: config.clockToleranceSec,
      requiredClaims: config.requiredClaims,
      ...(config.issuer === false ? {} : { issuer: config.issuer }),
      ...(config.audience === false ? {} : { audience: config.audience }),
    }
    this.#cache = new TtlCache(config.tokenCache.maxEntries)
    const usesKeys = config.jwksUri !== undefined || config.keyFiles !== undefined || config.issuer !== false
    this.#remote =
      config.keyFiles === undefined && usesKeys
        ? new RemoteKeySource({
            jwksUri: config.jwksUri ?? null,
            issuer: config.issuer === false ? null : config.issuer,
            caFile: config.caFile,
            refreshIntervalMs: config.jwksRefreshIntervalSec * 1000,
            refetchCooldownMs: config.jwksRefetchCooldownSec * 1000,
            timeoutMs: config.jwksTimeoutMs,
            logger: options.logger,
            onChange: (keySet) => this.#forgetTokensOfRemovedKeys(keySet),
          })
        : null
  }

  /** Constructs and starts: the one call the server needs. */
  static async create(config: JwtConfig, options: AuthenticatorOptions): Promise<JwtAuthenticator> {
    const authenticator = new JwtAuthenticator(config, options)
    await authenticator.start()
    return authenticator
  }

  /**
   * Loads the keys. Static key files that cannot be read or hold no usable key throw a ConfigError; a JWKS
   * that cannot be fetched yet is logged and retried in the background (`ready()` stays false until then).
   */
  async start(): Promise<void> {
    if (this.#config.keyFiles !== undefined) {
      try {
        const { keySet, ignored } = await KeySet.fromJwks(await readKeyFiles(this.#config.keyFiles))
        if (ignored.length > 0) throw new Error(`unusable keys: ${ignored.join('; ')}`)
        this.#staticKeys = keySet
      } catch (err) {
        throw new ConfigError('auth.jwt', [`"auth.jwt.keyFiles": ${(err as Error).message}`])
      }
      return
    }
    await this.#remote?.start()
  }

  /** Fetches the JWKS now (the background refresh does this every `jwksRefreshIntervalSec`). */
  async refreshKeys(): Promise<void> {
    await this.#remote?.refresh()
  }

  get readinessNeedsProvider(): boolean {
    return this.#remote !== null
  }

  ready(): CheckResult {
    if (this.#remote !== null) return this.#remote.ready()
    if (this.#config.keyFiles !== undefined && this.#staticKeys === null) {
      return { ok: false, reason: 'key files not loaded (start() not called)' }
    }
    return { ok: true }
  }

  async close(): Promise<void> {
    await this.#remote?.close()
    this.#cache.clear()
  }

  /** RFC 6750 §3: `error="invalid_token"` when a token was presented and refused. */
  challenge(refused?: AuthRefusal): string {
    const challenge = `Bearer realm="${this.#config.realm}"`
    return refused?.method === 'jwt' && refused.code === 'FG_ERR_AUTH_INVALID_TOKEN'
      ? `${challenge}, error="invalid_token"`
      : challenge
  }

  async authenticate({ headers }: Credentials): Promise<AuthOutcome> {
    const credential = schemeCredential(headers, 'Bearer', MAX_TOKEN_LENGTH)
    if (credential.kind === 'absent') return credential
    if (credential.kind !== 'present') return this.#refuse(credential.kind)
    const token = credential.value
    if (!COMPACT_JWS.test(token)) return this.#refuse('malformed')

    const cacheKey = hash('sha256', token, 'base64url')
    const cached = this.#cache.get(cacheKey)
    if (cached !== undefined) return { kind: 'accepted', identity: cached.identity }

    const verified = await this.#verify(token)
    if (typeof verified === 'string') return this.#refuse(verified)
    const subject = subjectFrom(verified.payload, this.#config.subjectClaim)
    if (subject === null) return this.#refuse('missing_subject')
    const identity = frozenIdentity({
      subject,
      roles: rolesFrom(verified.payload, this.#config.rolesClaim),
      method: 'jwt',
      claims: verified.payload,
    })
    this.#cache.set(
      cacheKey,
      { identity, thumbprint: verified.thumbprint },
      this.#cacheExpiry(verified.payload),
    )
    return { kind: 'accepted', identity }
  }

  /** The verified payload and the key that verified it, or why the token is refused. */
  async #verify(token: string): Promise<{ payload: JWTPayload; thumbprint: string } | JwtRefusalReason> {
    let alg: unknown
    let kid: unknown
    try {
      ;({ alg, kid } = decodeProtectedHeader(token))
    } catch {
      return 'malformed'
    }
    if (typeof alg !== 'string' || !this.#algorithms.has(alg)) return 'algorithm'
    if (kid !== undefined && typeof kid !== 'string') return 'malformed'

    if (alg.startsWith('HS')) {
      try {
        const { payload } = await jwtVerify(token, this.#secret!, this.#verifyOptions)
        return { payload, thumbprint: SHARED_SECRET }
      } catch (err) {
        return reasonFor(err)
      }
    }

    let keySet = this.#staticKeys ?? this.#remote!.keySet
    let candidates = keySet.candidates(alg, kid)
    if (candidates.length === 0 && this.#remote !== null) {
      keySet = await this.#remote.refreshForUnknownKey()
      candidates = keySet.candidates(alg, kid)
    }
    if (candidates.length === 0) {
      // No key for it, and the key set could not be fetched: the token may be good, so the client is told to
      // retry (503) rather than that its token is bad.
      const remote = this.#remote
      return remote !== null && (!remote.loaded || remote.unreachable) ? 'keys_unavailable' : 'unknown_key'
    }

    // Several keys fit only when the token or the keys carry no kid; each is tried until one verifies.
    let reason: JwtRefusalReason = 'unknown_key'
    for (const candidate of candidates) {
      let key: Awaited<ReturnType<KeySet['key']>>
      try {
        key = await keySet.key(candidate, alg)
      } catch {
        continue
      }
      try {
        const { payload } = await jwtVerify(token, key, this.#verifyOptions)
        return { payload, thumbprint: candidate.thumbprint }
      } catch (err) {
        reason = reasonFor(err)
        if (reason !== 'bad_signature') return reason
      }
    }
    return reason
  }

  /** Until the token's `exp`, and never longer than `tokenCache.ttlSec`. */
  #cacheExpiry(payload: JWTPayload): number {
    const ttlEnd = Date.now() + this.#config.tokenCache.ttlSec * 1000
    return typeof payload.exp === 'number' ? Math.min(ttlEnd, payload.exp * 1000) : ttlEnd
  }

  #forgetTokensOfRemovedKeys(keySet: KeySet): void {
    this.#cache.retain(
      (entry) => entry.thumbprint === SHARED_SECRET || keySet.thumbprints.has(entry.thumbprint),
    )
  }

  #refuse(reason: JwtRefusalReason): AuthRefusal {
    // Retry-After comes with the code (errors.ts).
    const code =
      reason === 'keys_unavailable' ? 'FG_ERR_AUTH_PROVIDER_UNAVAILABLE' : 'FG_ERR_AUTH_INVALID_TOKEN'
    return refusal('jwt', code, reason)
  }
}
