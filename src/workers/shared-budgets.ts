import type { LoginThrottle, ThrottleLimits } from '../auth/basic/throttle.js'
import type { Config } from '../config/schema.js'
import { type Budgets, ThrottlesByLimits } from '../ratelimit/budgets.js'
import { createFailureRateStore } from '../ratelimit/create-store.js'
import type { FailureRateStore } from '../ratelimit/store.js'
import type { Handlers, Peer } from './peer.js'

interface LoginArgs {
  readonly limits: ThrottleLimits
  readonly user: string
  readonly known: boolean
  readonly address: string
}

/**
 * The primary's side: one failed-request budget and one login throttle for the whole process group. The
 * primary runs one JavaScript thread, so each ask is checked and counted in one step: two workers asking at
 * once cannot both spend the last unit.
 */
export function budgetHandlers(config: Readonly<Config>): { handlers: Handlers; close(): Promise<void> } {
  const failureRate = createFailureRateStore(config.limits.failedRequests)
  const throttles = new ThrottlesByLimits()
  const throttle = (args: LoginArgs) => throttles.get(args.limits)
  return {
    handlers: {
      'rate.charge': (args: { key: string }) => failureRate?.charge(args.key, Date.now()) ?? null,
      'login.lockedFor': (a: LoginArgs) => throttle(a).lockedFor(a.user, a.known, a.address),
      'login.attempt': (a: LoginArgs) => throttle(a).attempt(a.user, a.known, a.address),
      'login.hasFailures': (a: LoginArgs) => throttle(a).hasFailures(a.address),
      'login.takeBack': (a: LoginArgs) => throttle(a).takeBack(a.user, a.known, a.address),
    },
    close: async () => failureRate?.close(),
  }
}

/** A worker's side: both budgets are the primary's, asked over IPC. */
export function budgetsThroughPrimary(primary: Peer): Budgets {
  return {
    failureRate(limits): FailureRateStore | null {
      if (limits.burst === 0) return null
      return {
        // The addresses are counted in the primary; this process holds none.
        size: 0,
        charge: (key) => primary.ask<number | null>('rate.charge', { key }),
        async close() {},
      }
    },
    loginThrottle(limits): LoginThrottle {
      const ask = <T>(op: string, user: string, known: boolean, address: string) =>
        primary.ask<T>(op, { limits, user, known, address } satisfies LoginArgs)
      return {
        lockedFor: (user, known, address) => ask<number | null>('login.lockedFor', user, known, address),
        attempt: (user, known, address) => ask<number | null>('login.attempt', user, known, address),
        hasFailures: (address) => ask<boolean>('login.hasFailures', '', false, address),
        takeBack: async (user, known, address) => {
          await ask<null>('login.takeBack', user, known, address)
        },
      }
    },
    async close() {},
  }
}
