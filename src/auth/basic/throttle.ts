import { TtlCache } from '../ttl-cache.js'

/**
 * Unknown user names and client addresses tracked at once: an attacker cycling through names or addresses
 * cannot grow memory past this. Known users are tracked apart (at most one entry per htpasswd line), and
 * locked-out addresses apart from counting ones, so a flood of junk can evict neither.
 */
export const MAX_TRACKED_KEYS = 10_000

interface Counter {
  count: number
  readonly windowEndMs: number
}

export interface ThrottleLimits {
  readonly maxFailuresPerUser: number
  readonly maxFailuresPerAddress: number
  readonly windowSec: number
}

/**
 * Where the Basic login's failure counts live: this process (`FailureThrottle`), the primary of a process group
 * (src/workers/), or Redis (src/ratelimit/redis-budgets.ts). The answers may come back later, hence awaitable.
 */
export interface LoginThrottle {
  /** Seconds until the user or the address may try again; null when neither is locked out. */
  lockedFor(user: string, known: boolean, address: string): number | null | Promise<number | null>
  /** Records an attempt about to reach bcrypt: null when it may proceed, else the seconds until a retry. */
  attempt(user: string, known: boolean, address: string): number | null | Promise<number | null>
  /** Whether the address has failures counted in the current window. */
  hasFailures(address: string): boolean | Promise<boolean>
  /** A verified login (or a check never run) takes its own counted attempt back. */
  takeBack(user: string, known: boolean, address: string): void | Promise<void>
}

/** One IPv6 host usually owns a whole /64, so its addresses count together; IPv4-mapped ones are IPv4. */
export function addressKey(address: string): string {
  const plain = address.replace(/%.*$/, '').toLowerCase()
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(plain)
  if (mapped) return mapped[1]!
  if (!plain.includes(':')) return plain
  const [head = '', tail] = plain.split('::')
  const headGroups = head === '' ? [] : head.split(':')
  const tailGroups = tail === undefined || tail === '' ? [] : tail.split(':')
  const zeros = Array<string>(Math.max(0, 8 - headGroups.length - tailGroups.length)).fill('0')
  const groups = [...headGroups, ...(tail === undefined ? [] : zeros), ...tailGroups]
  return `${groups
    .slice(0, 4)
    .map((group) => group.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`
}

/** A user's or an address's counters: the ones a flood of junk may evict, and the ones it may not. */
interface Table {
  get(key: string): Counter | undefined
  set(key: string, counter: Counter): void
  delete(key: string): void
}

/** Known users: bounded by the htpasswd file, never evicted by other names; expired entries are swept. */
class KnownUsers implements Table {
  readonly #entries = new Map<string, Counter>()

  get(key: string): Counter | undefined {
    const counter = this.#entries.get(key)
    if (counter !== undefined && counter.windowEndMs <= Date.now()) {
      this.#entries.delete(key)
      return undefined
    }
    return counter
  }

  set(key: string, counter: Counter): void {
    this.#entries.set(key, counter)
  }

  delete(key: string): void {
    this.#entries.delete(key)
  }
}

/**
 * Counting entries live in an LRU that junk may flush; an entry that reaches its limit moves to a table of
 * its own, which only other locked-out entries (each costing `max` failures) can fill.
 */
class CountingAndLocked implements Table {
  readonly #counting = new TtlCache<string, Counter>(MAX_TRACKED_KEYS)
  readonly #locked = new TtlCache<string, Counter>(MAX_TRACKED_KEYS)
  readonly #max: number

  constructor(max: number) {
    this.#max = max
  }

  get(key: string): Counter | undefined {
    return this.#locked.get(key) ?? this.#counting.get(key)
  }

  set(key: string, counter: Counter): void {
    if (counter.count >= this.#max) {
      this.#counting.delete(key)
      this.#locked.set(key, counter, counter.windowEndMs)
    } else {
      this.#locked.delete(key)
      this.#counting.set(key, counter, counter.windowEndMs)
    }
  }

  delete(key: string): void {
    this.#counting.delete(key)
    this.#locked.delete(key)
  }
}

/**
 * Counts attempts per user name and per client address in a fixed window from the first one. Attempts are
 * counted before the password is checked, so a concurrent burst of guesses cannot slip past the limit while
 * their bcrypt checks run; a success takes back only its own attempt. It never clears the count: the real
 * user logging in (the dashboard's polls reuse its login) must not hand an attacker a fresh set of guesses.
 */
export class FailureThrottle implements LoginThrottle {
  readonly #limits: ThrottleLimits
  readonly #knownUsers = new KnownUsers()
  readonly #unknownUsers: CountingAndLocked
  readonly #addresses: CountingAndLocked

  constructor(limits: ThrottleLimits) {
    this.#limits = limits
    this.#unknownUsers = new CountingAndLocked(limits.maxFailuresPerUser)
    this.#addresses = new CountingAndLocked(limits.maxFailuresPerAddress)
  }

  /** Seconds until the user or the address may try again; null when neither is locked out. */
  lockedFor(user: string, known: boolean, address: string): number | null {
    const now = Date.now()
    for (const [table, key, max] of this.#counters(user, known, address)) {
      const counter = table.get(key)
      if (counter !== undefined && counter.count >= max) {
        return Math.max(1, Math.ceil((counter.windowEndMs - now) / 1000))
      }
    }
    return null
  }

  /** Records an attempt about to reach bcrypt: null when it may proceed, else the seconds until a retry. */
  attempt(user: string, known: boolean, address: string): number | null {
    const lockedFor = this.lockedFor(user, known, address)
    if (lockedFor !== null) return lockedFor
    const now = Date.now()
    for (const [table, key] of this.#counters(user, known, address)) {
      const counter = table.get(key)
      const next = counter ?? { count: 0, windowEndMs: now + this.#limits.windowSec * 1000 }
      next.count += 1
      table.set(key, next)
    }
    return null
  }

  /** Whether the address has failures counted in the current window (its hash work then waits behind others'). */
  hasFailures(address: string): boolean {
    return (this.#addresses.get(addressKey(address))?.count ?? 0) > 0
  }

  /** A verified login (or a check never run) takes its own counted attempt back from the user and the address. */
  takeBack(user: string, known: boolean, address: string): void {
    for (const [table, key] of this.#counters(user, known, address)) {
      const counter = table.get(key)
      if (counter === undefined) continue
      counter.count -= 1
      if (counter.count <= 0) table.delete(key)
    }
  }

  #counters(user: string, known: boolean, address: string) {
    return [
      [known ? this.#knownUsers : this.#unknownUsers, user, this.#limits.maxFailuresPerUser],
      [this.#addresses, addressKey(address), this.#limits.maxFailuresPerAddress],
    ] as const
  }
}
