import { setTimeout as sleep } from 'node:timers/promises'
import type { Pool } from 'undici'

/**
 * How an accepted action is followed to its end: the status route Flink gives for it, and how its answer
 * reads. Savepoints, stops, checkpoints and disposals answer with a trigger id and are asked by it; a cancel
 * is seen in the job's status; a jar run is done when it answers, and is asked once for the job it started.
 */
export interface FollowUpPlan {
  readonly statusPath: string
  /** The outcome once Flink's answer says the action is over; null while it is not. */
  read(body: unknown): Outcome | null
}

/** What the completion line adds to the request's line. */
export interface Outcome {
  readonly result: string
  readonly savepointPath?: string
  readonly checkpointId?: number
  readonly jobState?: string
  readonly failure?: string
}

export interface ActionFacts {
  readonly method: string
  readonly template: string
  readonly jobId: string | null
  readonly triggerId: string | null
}

const TERMINAL_JOB_STATES = new Set(['FINISHED', 'CANCELED', 'FAILED', 'SUSPENDED'])
/** A failure's first line is kept (its class and message); stack traces stay in Flink's logs. */
const MAX_FAILURE_CHARS = 500

export function followUpPlanOf(facts: ActionFacts): FollowUpPlan | null {
  const { method, template, jobId, triggerId } = facts
  const action = `${method} ${template}`
  if (jobId !== null && triggerId !== null) {
    if (action === 'POST /jobs/:jobid/savepoints' || action === 'POST /jobs/:jobid/stop')
      return operation(`/jobs/${jobId}/savepoints/${triggerId}`)
    if (action === 'POST /jobs/:jobid/checkpoints')
      return operation(`/jobs/${jobId}/checkpoints/${triggerId}`)
  }
  if (action === 'POST /savepoint-disposal' && triggerId !== null)
    return operation(`/savepoint-disposal/${triggerId}`)
  if (jobId === null) return null
  if (
    action === 'PATCH /jobs/:jobid' ||
    action === 'GET /jobs/:jobid/yarn-cancel' ||
    action === 'GET /jobs/:jobid/yarn-stop'
  )
    return jobReaches(jobId, (state) => TERMINAL_JOB_STATES.has(state))
  // A run has started its job when it answers: asked once, for the job's state (and so its name).
  if (action === 'POST /jars/:jarid/run') return jobReaches(jobId, () => true, 'SUBMITTED')
  return null
}

/** An asynchronous operation's status: `{status: {id}, operation: {location | checkpointId | failure-cause}}`. */
function operation(statusPath: string): FollowUpPlan {
  return {
    statusPath,
    read(body) {
      const record = body as { status?: { id?: unknown }; operation?: Record<string, unknown> | null }
      if (record?.status?.id !== 'COMPLETED') return null
      const operation = record.operation ?? {}
      const failure = operation['failure-cause']
      if (failure !== undefined && failure !== null)
        return { result: 'FAILED', failure: failureText(failure) }
      return {
        result: 'COMPLETED',
        ...(typeof operation.location === 'string' ? { savepointPath: operation.location } : {}),
        ...(typeof operation.checkpointId === 'number' ? { checkpointId: operation.checkpointId } : {}),
      }
    },
  }
}

function jobReaches(jobId: string, done: (state: string) => boolean, result?: string): FollowUpPlan {
  return {
    statusPath: `/jobs/${jobId}/status`,
    read(body) {
      const state = (body as { status?: unknown })?.status
      if (typeof state !== 'string' || !done(state)) return null
      return { result: result ?? state, jobState: state }
    },
  }
}

/** Flink's SerializedThrowable as JSON: `{class, stack-trace, …}`; its first line is "class: message". */
function failureText(failure: unknown): string {
  const trace = (failure as { 'stack-trace'?: unknown })['stack-trace']
  const text =
    typeof trace === 'string' ? trace.split('\n', 1)[0]! : String((failure as { class?: unknown }).class)
  return text.slice(0, MAX_FAILURE_CHARS)
}

export interface FollowOptions {
  readonly timeoutMs: number
  readonly intervalMs: number
  /** Resolves when the follower is closed (a reload or shutdown): the outcome is then unknown. */
  readonly closed: Promise<void>
}

const MAX_INTERVAL_MS = 10_000

/**
 * Asks Flink until the plan reads an outcome, the time is up or the follower closes. Flink being away for a
 * while (a JobManager restarting) is waited out; an answer that is not JSON counts as "not yet".
 */
export async function follow(pool: Pool, plan: FollowUpPlan, options: FollowOptions): Promise<Outcome> {
  const deadline = Date.now() + options.timeoutMs
  let wait = options.intervalMs
  let closed = false
  void options.closed.then(() => {
    closed = true
  })
  while (!closed) {
    const left = deadline - Date.now()
    if (left <= 0) return { result: 'unknown', failure: `not over after ${options.timeoutMs} ms` }
    await Promise.race([sleep(Math.min(wait, left), undefined, { ref: false }), options.closed])
    if (closed) break
    wait = Math.min(wait * 2, MAX_INTERVAL_MS)
    const outcome = await ask(pool, plan)
    if (outcome !== null) return outcome
  }
  return { result: 'unknown', failure: 'flink-guard stopped following it (config reload or shutdown)' }
}

/** The outcome, or null to ask again (Flink away, busy, or the action still running). */
async function ask(pool: Pool, plan: FollowUpPlan): Promise<Outcome | null> {
  try {
    const response = await pool.request({ path: plan.statusPath, method: 'GET' })
    const text = await response.body.text()
    if (response.statusCode === 200) return plan.read(JSON.parse(text))
    // Flink no longer knows the operation or the job (a 404 once its cache expired): asking again won't help.
    if (response.statusCode >= 400 && response.statusCode < 500 && response.statusCode !== 429)
      return { result: 'unknown', failure: `Flink answered ${response.statusCode} to ${plan.statusPath}` }
    return null
  } catch {
    return null
  }
}
