import { createHmac, randomBytes } from 'node:crypto'
import { ConfigError } from '../../config/load.js'
import type { CheckResult } from '../../observability/health.js'
import type { Authenticator, AuthOutcome, AuthRefusal, Credentials } from '../authenticator.js'
import { schemeCredential } from '../authorization-header.js'
import type { Identity } from '../identity.js'
import type { AuthenticatorOptions } from '../logger.js'
import { frozenIdentity, refusal } from '../refusal.js'
import { TtlCache } from '../ttl-cache.js'
import { decodeBasicCredentials } from './basic-credentials.js'
import type { BasicConfig } from './config.js'
import { HashBudget, SHED } from './hash-budget.js'
import { HtpasswdError, HtpasswdFile } from './htpasswd-file.js'
import { verifyPassword } from './password-hash.js'
import { FailureThrottle, type LoginThrottle } from './throttle.js'

/** base64 of a 255-byte user and a 1 KiB password, with room to spare: anything longer is not a login. */
export const MAX_BASIC_CREDENTIAL_LENGTH = 4 * 1024
export const MAX_CACHED_LOGINS = 10_000

export type BasicRefusalReason =
  | 'malformed'
  | 'too_large'
  | 'unknown_user'
  | 'bad_password'
  | 'throttled'
  /** The hash-work queue was full: shed so that good logins are not delayed (429, retry in a second). */
  | 'overloaded'
/** What one bcrypt check ends in: the identity, the refusal reason, or the seconds until a retry (throttled). */
type Verification = Identity | 'unknown_user' | 'bad_password' | 'overloaded' | number

/**
 * HTTP Basic authentication (RFC 7617) against an htpasswd file.
 *
 *     const basic = await BasicAuthenticator.create(config.auth.basic, { logger: app.log })
 *     // or: const basic = new BasicAuthenticator(config.auth.basic, { logger }); await basic.start()
 */
export class BasicAuthenticator implements Authenticator {
  readonly readinessNeedsProvider = false
  readonly method = 'basic' as const
  readonly #config: BasicConfig
  readonly #file: HtpasswdFile
  readonly #throttle: LoginThrottle
  readonly #hashBudget = new HashBudget()
  /** Keyed by an HMAC under a key that never leaves this process: the cache holds no password or hash of one. */
  readonly #cacheKey = randomBytes(32)
  readonly #cache = new TtlCache<string, Identity>(MAX_CACHED_LOGINS)
  /** Verifications under way, by the same key as the cache. */
  readonly #verifying = new Map<string, Promise<Verification>>()

  constructor(config: BasicConfig, options: AuthenticatorOptions) {
    this.#config = config
    this.#throttle = options.loginThrottle?.(config.throttle) ?? new FailureThrottle(config.throttle)
    this.#file = new HtpasswdFile(config.htpasswd, {
      allowWeakHashes: config.allowWeakHashes,
      logger: options.logger,
      onReload: (result) => options.onReload?.('htpasswd', result),
      // A changed file may remove a user or change a password: nothing verified before may stand.
      onChange: () => this.#cache.clear(),
    })
  }

  static async create(config: BasicConfig, options: AuthenticatorOptions): Promise<BasicAuthenticator> {
    const authenticator = new BasicAuthenticator(config, options)
    await authenticator.start()
    return authenticator
  }

  /** Reads the htpasswd file and watches it; a file that cannot be read or has bad lines throws a ConfigError. */
  async start(): Promise<void> {
    try {
      await this.#file.start()
    } catch (err) {
      if (!(err instanceof HtpasswdError)) throw err
      throw new ConfigError(
        'auth.basic',
        err.problems.map((problem) => `"auth.basic.htpasswd": ${problem}`),
      )
    }
  }

  /** Re-reads the htpasswd file now (the directory watch does this on every change). */
  reload(): Promise<void> {
    return this.#file.reload()
  }

  ready(): CheckResult {
    return this.#file.content === null ? { ok: false, reason: 'htpasswd file not loaded' } : { ok: true }
  }

  async close(): Promise<void> {
    this.#file.close()
    this.#cache.clear()
  }

  challenge(): string {
    return `Basic realm="${this.#config.realm}", charset="UTF-8"`
  }

  async authenticate({ headers, remoteAddress }: Credentials): Promise<AuthOutcome> {
    const credential = schemeCredential(headers, 'Basic', MAX_BASIC_CREDENTIAL_LENGTH)
    if (credential.kind === 'absent') return credential
    if (credential.kind !== 'present') return this.#refuse(credential.kind)
    const decoded = decodeBasicCredentials(credential.value)
    const content = this.#file.content
    if (decoded === null || content === null) return this.#refuse('malformed')
    const { user, password } = decoded

    // Before the cache: during a lockout even the right password is refused, or guessing would go on.
    const known = content.users.has(user)
    const lockedFor = await this.#throttle.lockedFor(user, known, remoteAddress)
    if (lockedFor !== null) return refusal('basic', 'FG_ERR_AUTH_THROTTLED', 'throttled', lockedFor, user)

    const cacheKey = createHmac('sha256', this.#cacheKey).update(`${user}:${password}`).digest('base64url')
    const cached = this.#cache.get(cacheKey)
    if (cached !== undefined) return { kind: 'accepted', identity: cached }
    // One bcrypt run per distinct credential at a time: a burst of the same login (the dashboard's parallel
    // XHRs on a cold cache) waits for it and counts as one attempt, instead of tripping the throttle.
    let verification = this.#verifying.get(cacheKey)
    if (verification === undefined) {
      verification = this.#verify(user, password, content, cacheKey, remoteAddress).finally(() =>
        this.#verifying.delete(cacheKey),
      )
      this.#verifying.set(cacheKey, verification)
    }
    const verified = await verification
    if (typeof verified === 'number') {
      return refusal('basic', 'FG_ERR_AUTH_THROTTLED', 'throttled', verified, user)
    }
    if (verified === 'overloaded') return refusal('basic', 'FG_ERR_AUTH_THROTTLED', 'overloaded', 1, user)
    if (typeof verified === 'string') return this.#refuse(verified, user)
    return { kind: 'accepted', identity: verified }
  }

  /** bcrypt, counted by the throttle, within the hash-work budget. */
  async #verify(
    user: string,
    password: string,
    content: NonNullable<HtpasswdFile['content']>,
    cacheKey: string,
    remoteAddress: string,
  ): Promise<Verification> {
    const hash = content.users.get(user)
    // Known users from addresses without failures go first: a storm of junk names waits, or is shed.
    const priority =
      hash !== undefined && !(await this.#throttle.hasFailures(remoteAddress)) ? 'first' : 'last'
    const retryAfterSec = await this.#throttle.attempt(user, hash !== undefined, remoteAddress)
    if (retryAfterSec !== null) return retryAfterSec
    const matches = await this.#hashBudget.run(priority, () =>
      verifyPassword(hash ?? content.dummyFor(user), password),
    )
    if (matches === SHED) {
      await this.#throttle.takeBack(user, hash !== undefined, remoteAddress)
      return 'overloaded'
    }
    if (hash === undefined) return 'unknown_user'
    if (!matches) return 'bad_password'
    const identity = frozenIdentity({
      subject: user,
      roles: [...(this.#config.users[user] ?? [])],
      method: 'basic',
      claims: {},
    })
    // Only when the file has not changed while bcrypt ran: a stale success must not outlive a reload.
    if (this.#file.content === content) {
      this.#cache.set(cacheKey, identity, Date.now() + this.#config.cacheTtlSec * 1000)
    }
    await this.#throttle.takeBack(user, true, remoteAddress)
    return identity
  }

  #refuse(reason: Exclude<BasicRefusalReason, 'throttled'>, user?: string): AuthRefusal {
    return refusal('basic', 'FG_ERR_AUTH_BAD_CREDENTIALS', reason, undefined, user)
  }
}
