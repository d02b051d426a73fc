import type { JWK } from 'jose'
import { Agent } from 'undici'
import type { CheckResult } from '../../observability/health.js'
import type { AuthLogger } from '../logger.js'
import { readCaFile } from '../read-ca-file.js'
import { keySourceUrlProblem } from './config.js'
import { fetchJson } from './fetch-json.js'
import { KeySet } from './key-set.js'

/** Until the first JWKS arrives, the background fetch is retried this often rather than once per interval. */
const FIRST_LOAD_RETRY_MS = 5_000

export interface RemoteKeyOptions {
  /** The JWKS URL, or null to discover it from `issuer`. */
  readonly jwksUri: string | null
  readonly issuer: string | null
  readonly caFile: string | undefined
  readonly refreshIntervalMs: number
  readonly refetchCooldownMs: number
  readonly timeoutMs: number
  readonly logger: AuthLogger
  /** Told of every new key set, so verified tokens whose key left it are forgotten. */
  readonly onChange: (keySet: KeySet) => void
}

function jwksKeys(document: unknown, url: string): JWK[] {
  if (
    document === null ||
    typeof document !== 'object' ||
    !Array.isArray((document as { keys?: unknown }).keys)
  ) {
    throw new Error(`${url} is not a JWKS (no "keys" list)`)
  }
  return (document as { keys: JWK[] }).keys
}

/**
 * Keys from a JWKS URL (configured, or found by OIDC discovery), fetched at start, again every
 * `refreshIntervalMs`, and on demand for an unknown `kid` at most once per `refetchCooldownMs`. A failed
 * fetch keeps the keys in use: an IdP outage must not lock everyone out while its keys are still valid.
 */
export class RemoteKeySource {
  readonly #options: RemoteKeyOptions
  readonly #dispatcher: Agent | undefined
  #jwksUri: string | null
  #keySet = KeySet.EMPTY
  #loaded = false
  #lastError: string | null = null
  #lastFetchMs = Number.NEGATIVE_INFINITY
  #inflight: Promise<void> | null = null
  #timer: NodeJS.Timeout | undefined
  #closed = false

  constructor(options: RemoteKeyOptions) {
    this.#options = options
    this.#jwksUri = options.jwksUri
    this.#dispatcher =
      options.caFile === undefined
        ? undefined
        : new Agent({ connect: { ca: readCaFile(options.caFile, 'auth.jwt') } })
  }

  get keySet(): KeySet {
    return this.#keySet
  }

  /** The first fetch; a failure is logged and retried in the background, never thrown. */
  async start(): Promise<void> {
    await this.refresh()
  }

  ready(): CheckResult {
    if (this.#loaded) return { ok: true }
    return {
      ok: false,
      reason: `JWKS not loaded yet${this.#lastError === null ? '' : `: ${this.#lastError}`}`,
    }
  }

  get loaded(): boolean {
    return this.#loaded
  }

  /** The last fetch failed (the IdP or its JWKS endpoint is down): a key it does not know may yet exist. */
  get unreachable(): boolean {
    return this.#lastError !== null
  }

  /** Fetches now (joining a fetch already under way). */
  refresh(): Promise<void> {
    this.#inflight ??= this.#fetch().finally(() => {
      this.#inflight = null
      this.#schedule()
    })
    return this.#inflight
  }

  /** A token named a `kid` not in the set: fetch again unless one ran within the cooldown. */
  async refreshForUnknownKey(): Promise<KeySet> {
    if (this.#inflight !== null || Date.now() - this.#lastFetchMs >= this.#options.refetchCooldownMs) {
      await this.refresh()
    }
    return this.#keySet
  }

  async close(): Promise<void> {
    this.#closed = true
    clearTimeout(this.#timer)
    await this.#inflight
    await this.#dispatcher?.close()
  }

  #schedule(): void {
    clearTimeout(this.#timer)
    if (this.#closed) return
    const delay = this.#loaded
      ? this.#options.refreshIntervalMs
      : Math.min(FIRST_LOAD_RETRY_MS, this.#options.refreshIntervalMs)
    this.#timer = setTimeout(() => void this.refresh(), delay)
    this.#timer.unref()
  }

  async #fetch(): Promise<void> {
    this.#lastFetchMs = Date.now()
    const { logger, timeoutMs } = this.#options
    try {
      this.#jwksUri ??= await this.#discover()
      const keys = jwksKeys(await fetchJson(this.#jwksUri, timeoutMs, this.#dispatcher), this.#jwksUri)
      const { keySet, ignored } = await KeySet.fromJwks(keys)
      if (ignored.length > 0) logger.warn({ jwksUri: this.#jwksUri, ignored }, 'JWKS keys ignored')
      if (keySet.size === 0) throw new Error(`${this.#jwksUri} holds no usable public signature key`)
      const added = [...keySet.thumbprints].filter((t) => !this.#keySet.thumbprints.has(t)).length
      const removed = [...this.#keySet.thumbprints].filter((t) => !keySet.thumbprints.has(t)).length
      this.#keySet = keySet
      this.#lastError = null
      if (!this.#loaded || added > 0 || removed > 0) {
        logger.info({ jwksUri: this.#jwksUri, keys: keySet.size, added, removed }, 'JWKS loaded')
      }
      this.#loaded = true
      this.#options.onChange(keySet)
    } catch (err) {
      this.#lastError = (err as Error).message
      logger.warn(
        { jwksUri: this.#jwksUri, err: this.#lastError, keysKept: this.#keySet.size },
        'JWKS fetch failed; the keys in use are kept',
      )
    }
  }

  /** OIDC Discovery 1.0 §4: the document must name the same issuer it was fetched for (§4.3). */
  async #discover(): Promise<string> {
    const issuer = this.#options.issuer!
    const url = `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`
    const document = (await fetchJson(url, this.#options.timeoutMs, this.#dispatcher)) as {
      issuer?: unknown
      jwks_uri?: unknown
    } | null
    if (document?.issuer !== issuer) {
      throw new Error(`${url} names issuer ${JSON.stringify(document?.issuer)}, not "${issuer}"`)
    }
    if (typeof document.jwks_uri !== 'string') throw new Error(`${url} has no "jwks_uri"`)
    const problem = keySourceUrlProblem(document.jwks_uri, 'jwks_uri')
    if (problem !== null) throw new Error(`${url}: ${problem}`)
    return document.jwks_uri
  }
}
