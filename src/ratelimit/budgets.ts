import { FailureThrottle, type LoginThrottle, type ThrottleLimits } from '../auth/basic/throttle.js'
import { createFailureRateStore } from './create-store.js'
import type { FailureRateLimits, FailureRateStore } from './store.js'

/**
 * The two brute-force budgets, wherever they live: the failed-request rate limit (`limits.failedRequests`) and
 * the Basic login throttle (`auth.basic.throttle`). One process keeps them in memory; the workers of a process
 * group ask their primary (src/workers/); with `redis`, every replica asks Redis (./redis-budgets.ts).
 */
export interface Budgets {
  /** Null when the limit is off (`burst: 0`). */
  failureRate(limits: FailureRateLimits): FailureRateStore | null
  /** Absent: each Basic authenticator counts on its own, as one process always has. */
  readonly loginThrottle?: (limits: ThrottleLimits) => LoginThrottle
  close(): Promise<void>
}

/** One process: both budgets in memory, as before workers existed. */
export const LOCAL_BUDGETS: Budgets = {
  failureRate: createFailureRateStore,
  async close() {},
}

/** A throttle per set of limits, so a reload that changes `auth.basic.throttle` gets its own counts. */
export class ThrottlesByLimits {
  readonly #throttles = new Map<string, FailureThrottle>()

  get(limits: ThrottleLimits): FailureThrottle {
    const key = `${limits.maxFailuresPerUser}/${limits.maxFailuresPerAddress}/${limits.windowSec}`
    let throttle = this.#throttles.get(key)
    if (throttle === undefined) {
      throttle = new FailureThrottle(limits)
      this.#throttles.set(key, throttle)
      // Only reloads add limits; a handful of past ones is all that could be worth keeping.
      if (this.#throttles.size > 4) this.#throttles.delete(this.#throttles.keys().next().value as string)
    }
    return throttle
  }
}
