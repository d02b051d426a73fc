/**
 * A bounded least-recently-used map whose entries also expire: the verified-credential caches and the
 * failure throttle use it, so a flood of distinct tokens, users or addresses can never grow memory past
 * `maxEntries`. A Map keeps insertion order, so re-inserting on a hit makes the first key the oldest.
 */
export class TtlCache<K, V> {
  readonly #entries = new Map<K, { value: V; expiresAtMs: number }>()
  readonly #maxEntries: number
  readonly #now: () => number

  constructor(maxEntries: number, now: () => number = Date.now) {
    this.#maxEntries = maxEntries
    this.#now = now
  }

  get size(): number {
    return this.#entries.size
  }

  get(key: K): V | undefined {
    const entry = this.#entries.get(key)
    if (entry === undefined) return undefined
    this.#entries.delete(key)
    if (entry.expiresAtMs <= this.#now()) return undefined
    this.#entries.set(key, entry)
    return entry.value
  }

  /** Stores `value` until `expiresAtMs`; a cache of size 0 or an entry already expired stores nothing. */
  set(key: K, value: V, expiresAtMs: number): void {
    this.#entries.delete(key)
    if (this.#maxEntries <= 0 || expiresAtMs <= this.#now()) return
    this.#entries.set(key, { value, expiresAtMs })
    if (this.#entries.size > this.#maxEntries) {
      const oldest = this.#entries.keys().next()
      if (!oldest.done) this.#entries.delete(oldest.value)
    }
  }

  delete(key: K): void {
    this.#entries.delete(key)
  }

  /** Drops every entry whose value fails `keep` (e.g. tokens verified with a key that left the JWKS). */
  retain(keep: (value: V) => boolean): void {
    for (const [key, entry] of this.#entries) if (!keep(entry.value)) this.#entries.delete(key)
  }

  clear(): void {
    this.#entries.clear()
  }
}
