import type { Config } from '../config/schema.js'
import type { Logger } from '../observability/logger.js'
import type { ProxyMetrics } from '../observability/metrics.js'
import { openFileOwners } from './file-store.js'
import type { JobOwners } from './job-owners.js'
import { openRedisOwners } from './redis-store.js'

/** A store that does not answer in this time (a disk that hangs) fails the request that waits: a 503, not a hang. */
const OPERATION_TIMEOUT_MS = 5_000

export function bounded<T>(work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(
      () => reject(new Error(`the job owners' store did not answer within ${OPERATION_TIMEOUT_MS} ms`)),
      OPERATION_TIMEOUT_MS,
    )
  })
  return Promise.race([work, late]).finally(() => clearTimeout(timer))
}

/**
 * The store `jobOwners` names, each operation bounded in time and every failure counted; null when submitters are not recorded. Rejects
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
    bounded(work).catch((err: unknown) => {
      metrics?.recordJobOwnerError(op)
      throw err
    })
  return {
    record: (cluster, job, subject) => counted('record', store.record(cluster, job, subject)),
    ownersOf: (cluster, jobs) => counted('lookup', store.ownersOf(cluster, jobs)),
    close: () => store.close(),
  }
}
