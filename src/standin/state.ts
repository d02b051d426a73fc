import { randomBytes } from 'node:crypto'

export type JobStatus = 'RUNNING' | 'CANCELED' | 'FINISHED' | 'FAILED'

export interface StandinJob {
  readonly id: string
  readonly name: string
  state: JobStatus
  readonly startTime: number
  endTime: number
}

export interface StandinJar {
  readonly id: string
  readonly name: string
  readonly uploaded: number
  readonly serverPath: string
}

/** Flink ids (JobID, TriggerId, …) are 16 random bytes in lowercase hex. */
export const flinkId = (): string => randomBytes(16).toString('hex')

/** The stand-in's pretend cluster: a few jobs, uploaded jars, and whether someone shut it down. */
export class ClusterState {
  readonly jobs = new Map<string, StandinJob>()
  readonly jars = new Map<string, StandinJar>()
  shutDown = false
  /** Bumped on every change, so cached response bodies know when to rebuild. */
  version = 0

  constructor(now = Date.now()) {
    this.addJob('Streaming WordCount', 'RUNNING', now - 3_600_000)
    this.addJob('Fraud Detection', 'RUNNING', now - 600_000)
    const batch = this.addJob('Nightly Batch ETL', 'FINISHED', now - 86_400_000)
    batch.endTime = now - 82_800_000
  }

  addJob(name: string, state: JobStatus, startTime = Date.now()): StandinJob {
    const job: StandinJob = { id: flinkId(), name, state, startTime, endTime: -1 }
    this.jobs.set(job.id, job)
    this.version++
    return job
  }

  cancel(job: StandinJob): void {
    if (job.state === 'RUNNING') {
      job.state = 'CANCELED'
      job.endTime = Date.now()
      this.version++
    }
  }

  /** A stop-with-savepoint's end. */
  finish(job: StandinJob): void {
    job.state = 'FINISHED'
    job.endTime = Date.now()
    this.version++
  }

  addJar(jar: StandinJar): void {
    this.jars.set(jar.id, jar)
    this.version++
  }
}
