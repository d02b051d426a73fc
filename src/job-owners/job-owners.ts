/**
 * Who submitted each job flink-guard saw Flink accept (`POST /jars/:jarid/run`, `POST /jobs`, 2.x's
 * `run-application`), per cluster: what a job scope grant with `ownJobs` reads. Kept outside the process
 * (a file, or Redis), so a restart, another worker and, with Redis, another replica know it too.
 */
export interface JobOwners {
  /** Records `subject` as the submitter of `jobId` on `cluster`; rejects when it cannot be kept. */
  record(cluster: string, jobId: string, subject: string): Promise<void>
  /** The submitters of those of `jobIds` that were recorded; rejects when the store cannot be read. */
  ownersOf(cluster: string, jobIds: readonly string[]): Promise<ReadonlyMap<string, string>>
  close(): Promise<void>
}

/** One record as it is kept: JSON, a line of the file or a Redis hash value. */
export interface OwnerRecord {
  readonly cluster: string
  readonly job: string
  readonly subject: string
  /** When Flink accepted the submission (ISO 8601): for people reading the store. */
  readonly at: string
}

/** A record as `record` wrote it; null for anything else (a line that is not one is skipped). */
export function parseOwnerRecord(text: string): OwnerRecord | null {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return null
  }
  if (value === null || typeof value !== 'object') return null
  const { cluster, job, subject, at } = value as Record<string, unknown>
  return typeof cluster === 'string' &&
    typeof job === 'string' &&
    typeof subject === 'string' &&
    typeof at === 'string'
    ? { cluster, job, subject, at }
    : null
}
