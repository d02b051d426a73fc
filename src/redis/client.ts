import { Redis } from 'ioredis'
import type { Config } from '../config/schema.js'

export type RedisConfig = NonNullable<Config['redis']>

/** Reconnect attempts back off to this interval and keep going: Redis coming back is noticed within it. */
const MAX_RECONNECT_DELAY_MS = 2_000

/**
 * A client of the configured Redis (the brute-force budgets, the job owners): no command waits for a
 * connection (no offline queue) and each is bounded by `timeoutMs`, so an outage costs a request that much
 * at most; it reconnects on its own.
 */
export function connectRedis(config: RedisConfig): Redis {
  return new Redis(config.url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: config.timeoutMs,
    connectTimeout: Math.max(config.timeoutMs, 1_000),
    retryStrategy: (times) => Math.min(times * 100, MAX_RECONNECT_DELAY_MS),
  })
}
