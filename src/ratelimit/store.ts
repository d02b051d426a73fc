/**
 * Where the per-address budget of failed and unauthenticated requests is kept. Asynchronous, so a store shared
 * by several proxies (Redis, issue 18) fits behind the same calls as the in-memory one.
 */
export interface FailureRateStore {
  /**
   * Spends one unit of `key`'s budget: resolves null while there was one, else the seconds until one is back
   * (sent as `Retry-After`). A flood that keeps sending passes at the refill rate and no faster.
   */
  charge(key: string, nowMs: number): Promise<number | null>
  /** Keys held in this process (the memory bound; a shared store holds its keys elsewhere). */
  readonly size: number
  close(): Promise<void>
}

export interface FailureRateLimits {
  /** Failed requests an address may make at once, before the refill rate applies; 0 turns the limit off. */
  readonly burst: number
  /** Units given back to each address per minute. */
  readonly perMinute: number
  /** Addresses tracked at once (memory bound). */
  readonly maxAddresses: number
}
