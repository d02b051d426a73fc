import { connectRedis, type RedisConfig } from '../redis/client.js'
import { type JobOwners, type OwnerRecord, parseOwnerRecord } from './job-owners.js'

/**
 * The submitters in Redis, one hash per cluster (`<keyPrefix>job-owners:<cluster>`, job id → record), shared
 * by every replica. Nothing is cached: another replica's record is seen at once. While Redis does not answer,
 * recording and lookups fail (each bounded by `redis.timeoutMs`) and their callers say so.
 */
export function openRedisOwners(config: RedisConfig): JobOwners {
  const redis = connectRedis(config)
  // Without a listener ioredis reports every failed reconnect on stderr; the callers log what a failure costs.
  redis.on('error', () => {})
  const hash = (cluster: string) => `${config.keyPrefix}job-owners:${cluster}`
  return {
    async record(cluster, job, subject) {
      const record: OwnerRecord = { cluster, job, subject, at: new Date().toISOString() }
      await redis.hset(hash(cluster), job, JSON.stringify(record))
    },
    async ownersOf(cluster, jobs) {
      const found = new Map<string, string>()
      if (jobs.length === 0) return found
      const values = await redis.hmget(hash(cluster), ...jobs)
      values.forEach((value, index) => {
        const record = value === null ? null : parseOwnerRecord(value)
        if (record !== null) found.set(jobs[index]!, record.subject)
      })
      return found
    },
    async close() {
      redis.disconnect()
    },
  }
}
