import { addressKey, type LoginThrottle, type ThrottleLimits } from '../auth/basic/throttle.js'
import type { Logger } from '../observability/logger.js'
import type { ProxyMetrics } from '../observability/metrics.js'
import { connectRedis, type RedisConfig } from '../redis/client.js'
import { type Budgets, ThrottlesByLimits } from './budgets.js'
import { CHARGE_BUCKET, LOGIN_ATTEMPT, LOGIN_TAKE_BACK } from './redis-scripts.js'
import type { FailureRateLimits, FailureRateStore } from './store.js'

/** What a fail-closed budget answers while Redis is away: retry in a second. */
const CLOSED_RETRY_AFTER_SEC = 1

/**
 * Both brute-force budgets in one Redis, shared by every replica and worker. While Redis does not answer, each
 * check is decided by `failMode`: `closed` refuses (429), `open` asks `fallback` (the process group's own
 * budgets). Each command is bounded (src/redis/client.ts). The outage and the recovery are logged once each and counted.
 */
export function createRedisBudgets(
  config: RedisConfig,
  fallback: Budgets,
  logger: Logger,
  metrics: ProxyMetrics | null,
): Budgets {
  const redis = connectRedis(config)
  const open = config.failMode === 'open'
  let up: boolean | null = null
  const report = (ok: boolean, reason?: string) => {
    metrics?.setSharedStoreUp(ok)
    if (ok === up) return
    const wasKnown = up !== null
    up = ok
    if (ok) {
      if (wasKnown)
        logger.info({ store: 'redis' }, 'Redis answers again: the shared brute-force budgets apply')
    } else {
      logger.error(
        { store: 'redis', failMode: config.failMode, reason },
        open
          ? "Redis does not answer: failing open, each process group's own brute-force budgets apply until it does"
          : 'Redis does not answer: failing closed, what the brute-force budgets decide is refused (429) until it does',
      )
    }
  }
  redis.on('ready', () => report(true))
  redis.on('error', (err: Error) => report(false, err.message))

  const guarded = async <T>(run: () => Promise<T>, failed: () => T | Promise<T>): Promise<T> => {
    try {
      const result = await run()
      report(true)
      return result
    } catch (err) {
      report(false, (err as Error).message)
      metrics?.recordSharedStoreError(config.failMode)
      return failed()
    }
  }
  const seconds = (reply: unknown): number | null => (Number(reply) < 0 ? null : Number(reply))
  const key = (...parts: string[]) => `${config.keyPrefix}${parts.join(':')}`
  const fallbackThrottles = new ThrottlesByLimits()

  return {
    failureRate(limits: FailureRateLimits): FailureRateStore | null {
      if (limits.burst === 0) return null
      const local = open ? fallback.failureRate(limits) : null
      const perMs = limits.perMinute / 60_000
      return {
        size: 0,
        charge: (address, nowMs) =>
          guarded(
            async () =>
              seconds(await redis.eval(CHARGE_BUCKET, 1, key('rate', address), limits.burst, perMs)),
            () => (local === null ? CLOSED_RETRY_AFTER_SEC : local.charge(address, nowMs)),
          ),
        close: async () => local?.close(),
      }
    },
    loginThrottle(limits: ThrottleLimits): LoginThrottle {
      const local = open ? (fallback.loginThrottle?.(limits) ?? fallbackThrottles.get(limits)) : null
      const keys = (user: string, address: string) => [
        key('login', 'user', user),
        key('login', 'addr', addressKey(address)),
      ]
      const check = (count: boolean, user: string, address: string) =>
        redis.eval(
          LOGIN_ATTEMPT,
          2,
          ...keys(user, address),
          limits.maxFailuresPerUser,
          limits.maxFailuresPerAddress,
          limits.windowSec * 1000,
          count ? 1 : 0,
        )
      return {
        lockedFor: (user, known, address) =>
          guarded(
            async () => seconds(await check(false, user, address)),
            () => (local === null ? CLOSED_RETRY_AFTER_SEC : local.lockedFor(user, known, address)),
          ),
        attempt: (user, known, address) =>
          guarded(
            async () => seconds(await check(true, user, address)),
            () => (local === null ? CLOSED_RETRY_AFTER_SEC : local.attempt(user, known, address)),
          ),
        hasFailures: (address) =>
          guarded(
            async () => Number(await redis.get(key('login', 'addr', addressKey(address)))) > 0,
            () => (local === null ? true : local.hasFailures(address)),
          ),
        takeBack: (user, known, address) =>
          guarded(
            async () => {
              await redis.eval(LOGIN_TAKE_BACK, 2, ...keys(user, address))
            },
            () => local?.takeBack(user, known, address),
          ),
      }
    },
    async close() {
      redis.disconnect()
      await fallback.close()
    },
  }
}
