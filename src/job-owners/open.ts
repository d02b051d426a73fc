import type { Config } from '../config/schema.js'
import type { Logger } from '../observability/logger.js'
import type { ProxyMetrics } from '../observability/metrics.js'
import { openFileOwners } from './file-store.js'
import type { JobOwners } from './job-owners.js'
import { openRedisOwners } from './redis-store.js'

/**
 * The store `jobOwners` names, every failure of it counted; null when submitters are not recorded. Rejects
 * when the file cannot be opened (flink-guard does not start without the records it was told to keep).
 */
export async function openJobOwners(
  config: Readonly<Config>,
  logger: Logger,
  metrics: ProxyMetrics | null,
): Promise<JobOwners | null> {
  const { jobOwners, redis } = config
  if (jobOwners === undefined) return null
  // The config checks made sure the store's own key is there (src/config/load.ts).
  const store =
    jobOwners.store === 'redis' ? openRedisOwners(redis!) : await openFileOwners(jobOwners.file!, logger)
  const counted = <T>(op: 'record' | 'lookup', work: Promise<T>) =>
    work.catch((err: unknown) => {
      metrics?.recordJobOwnerError(op)
      throw err
    })
  return {
    record: (cluster, job, subject) => counted('record', store.record(cluster, job, subject)),
    ownersOf: (cluster, jobs) => counted('lookup', store.ownersOf(cluster, jobs)),
    close: () => store.close(),
  }
}
