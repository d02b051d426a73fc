import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { catalogOf, JOB_ID, type JobList } from '../job-scope/catalog.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** A submission Flink accepted: whether its submitter was recorded (jobOwners); null for anything else. */
    submitterRecorded: boolean | null
    /** A submission under jobOwners: the ids Flink knew before it was forwarded; null when not asked. */
    jobsBeforeSubmission: JobList | null
  }
}

/**
 * The submissions whose answers name the job they started, and where: `POST /jars/:jarid/run` answers
 * `{jobid}`, `POST /jobs` (the CLI's `flink run`) `{jobUrl: "/jobs/<id>"}`, 2.x's `run-application`
 * `{applicationid}` (job scope judges an application by its id).
 */
const SUBMITTED_ID: Readonly<Record<string, (answer: Record<string, unknown>) => unknown>> = {
  'POST /jars/:jarid/run': (answer) => answer.jobid,
  'POST /jobs': (answer) =>
    typeof answer.jobUrl === 'string' ? /^\/jobs\/([^/]*)$/.exec(answer.jobUrl)?.[1] : null,
  'POST /jars/:jarid/run-application': (answer) => answer.applicationid,
}

/** The job a submission's answer says Flink started; null for any other action or answer. */
export function submittedJobOf(action: string, body: unknown): string | null {
  const read = Object.hasOwn(SUBMITTED_ID, action) ? SUBMITTED_ID[action] : undefined
  if (read === undefined || body === null || typeof body !== 'object') return null
  const id = read(body as Record<string, unknown>)
  return typeof id === 'string' && JOB_ID.test(id) ? id.toLowerCase() : null
}

const actionOf = (request: FastifyRequest) => `${request.method} ${request.authz?.route?.template}`

/**
 * Step 4c (app.ts): before a submission is forwarded, the ids Flink knows now, from a list fetched after the
 * request arrived. An answer naming one of them did not start it: a client chooses its job's id (a run's
 * `jobId`, a job graph's), and a program's `main()` can swallow Flink's refusal of a duplicate and still be
 * answered with that id. (A `main()` that waits for an id it can predict to appear is not caught: a deployer
 * runs code in the JobManager, docs/job-scope.md "Limits".)
 */
export function submissionStage(scope: FastifyInstance): void {
  scope.decorateRequest('jobsBeforeSubmission', null)
  scope.addHook('onRequest', async (request) => {
    if (request.pipeline.jobOwners === null || request.forwardAuthCheck || request.upstream === null) return
    if (!Object.hasOwn(SUBMITTED_ID, actionOf(request))) return
    try {
      request.jobsBeforeSubmission = await catalogOf(request.upstream.forwarder.pool).fresh()
    } catch (err) {
      // The submission goes on (Flink decides it); without the list its job cannot be proven new.
      request.log.warn({ err }, "Flink's job list could not be read before a submission")
    }
  })
}

/**
 * Records the caller as the submitter of the job Flink's answer names, before the answer goes back: when the
 * submitter learns the job's id, every worker and replica knows whose it is. Only a job proven new is
 * recorded: not among the ids Flink knew before, and known to Flink now. Anonymous callers own nothing. A
 * store that fails does not hide the job Flink started (the answer still goes back); the error is logged,
 * counted and in the audit line.
 */
export async function recordSubmitter(
  request: FastifyRequest,
  reply: FastifyReply,
  body: unknown,
): Promise<void> {
  const owners = request.pipeline.jobOwners
  if (owners === null || request.upstream === null || reply.statusCode >= 300) return
  const job = submittedJobOf(actionOf(request), body)
  if (job === null || request.identity?.method === 'anonymous') return
  request.submitterRecorded = false
  const before = request.jobsBeforeSubmission
  if (before === null || before.has(job) || !(await startedNow(request, job))) {
    request.log.warn(
      { jobId: job },
      "the job a submission's answer names is not one it started (Flink knew it before, or does not know it): its submitter is not recorded",
    )
    return
  }
  try {
    await owners.record(request.upstream.cluster, job, request.identity!.subject)
    request.submitterRecorded = true
  } catch (err) {
    request.log.error(
      { err, jobId: job },
      "the job's submitter could not be recorded (jobOwners): ownJobs grants will not give the job to them",
    )
  }
}

/** Flink lists the job now: from a list fetched after its answer arrived. */
async function startedNow(request: FastifyRequest, job: string): Promise<boolean> {
  try {
    return (await catalogOf(request.upstream!.forwarder.pool).fresh()).has(job)
  } catch {
    return false
  }
}
