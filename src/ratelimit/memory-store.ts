import type { FailureRateLimits, FailureRateStore } from './store.js'

interface Bucket {
  tokens: number
  atMs: number
}

/**
 * A token bucket per address in one process. The Map keeps insertion order and every charge re-inserts its
 * key, so the first entry is the one charged longest ago; at `maxAddresses` it is dropped. Dropping an address
 * hands it a fresh burst, but only after `maxAddresses` other addresses were charged since: an attacker who owns
 * that many addresses has that many bursts anyway, so eviction gives nothing away and memory stays bounded.
 */
export class MemoryFailureRateStore implements FailureRateStore {
  readonly #buckets = new Map<string, Bucket>()
  readonly #refillPerMs: number

  constructor(private readonly limits: FailureRateLimits) {
    this.#refillPerMs = limits.perMinute / 60_000
  }

  get size(): number {
    return this.#buckets.size
  }

  async charge(key: string, nowMs: number): Promise<number | null> {
    const { burst, maxAddresses } = this.limits
    const previous = this.#buckets.get(key)
    const refilled =
      previous === undefined
        ? burst
        : Math.min(burst, previous.tokens + (nowMs - previous.atMs) * this.#refillPerMs)
    const allowed = refilled >= 1
    this.#buckets.delete(key)
    this.#buckets.set(key, { tokens: allowed ? refilled - 1 : refilled, atMs: nowMs })
    if (this.#buckets.size > maxAddresses) {
      this.#buckets.delete(this.#buckets.keys().next().value as string)
    }
    if (allowed) return null
    // The seconds until one whole unit is back.
    return Math.max(1, Math.ceil((1 - refilled) / this.#refillPerMs / 1000))
  }

  async close(): Promise<void> {
    this.#buckets.clear()
  }
}
