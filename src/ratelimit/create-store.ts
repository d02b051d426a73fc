import { MemoryFailureRateStore } from './memory-store.js'
import type { FailureRateLimits, FailureRateStore } from './store.js'

/** The store `limits.failedRequests` asks for; null when the limit is off (`burst: 0`). */
export function createFailureRateStore(limits: FailureRateLimits): FailureRateStore | null {
  return limits.burst === 0 ? null : new MemoryFailureRateStore(limits)
}
