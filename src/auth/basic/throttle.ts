import { TtlCache } from '../ttl-cache.js'

/** Users and addresses tracked at once: an attacker cycling through names or addresses cannot grow memory. */
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

/**
 * Counts attempts per user name and per client address in a fixed window from the first one. Attempts are
 * counted before the password is checked, so a concurrent burst of guesses cannot slip past the limit while
 * their bcrypt checks run; a success takes its attempt back and clears the user's count.
 */
export class FailureThrottle {
  readonly #limits: ThrottleLimits
  readonly #users = new TtlCache<string, Counter>(MAX_TRACKED_KEYS)
  readonly #addresses = new TtlCache<string, Counter>(MAX_TRACKED_KEYS)

  constructor(limits: ThrottleLimits) {
    this.#limits = limits
  }

  /** Seconds until the user or the address may try again; null when neither is locked out. */
  lockedFor(user: string, address: string): number | null {
    const now = Date.now()
    for (const [cache, key, max] of this.#counters(user, address)) {
      const counter = cache.get(key)
      if (counter !== undefined && counter.count >= max) {
        return Math.max(1, Math.ceil((counter.windowEndMs - now) / 1000))
      }
    }
    return null
  }

  /** Records an attempt about to reach bcrypt: null when it may proceed, else the seconds until a retry. */
  attempt(user: string, address: string): number | null {
    const lockedFor = this.lockedFor(user, address)
    if (lockedFor !== null) return lockedFor
    const now = Date.now()
    for (const [cache, key] of this.#counters(user, address)) {
      const counter = cache.get(key)
      if (counter === undefined) {
        const windowEndMs = now + this.#limits.windowSec * 1000
        cache.set(key, { count: 1, windowEndMs }, windowEndMs)
      } else {
        counter.count += 1
      }
    }
    return null
  }

  /** A verified login: the user's failures are forgiven, and a counted attempt is taken back from the address. */
  succeeded(user: string, address: string, counted: boolean): void {
    this.#users.delete(user)
    if (!counted) return
    const counter = this.#addresses.get(addressKey(address))
    if (counter !== undefined) counter.count = Math.max(0, counter.count - 1)
  }

  #counters(user: string, address: string) {
    return [
      [this.#users, user, this.#limits.maxFailuresPerUser],
      [this.#addresses, addressKey(address), this.#limits.maxFailuresPerAddress],
    ] as const
  }
}
