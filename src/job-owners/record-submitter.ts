import type { FastifyReply, FastifyRequest } from 'fastify'

declare module 'fastify' {
  interface FastifyRequest {
    /** A submission Flink accepted: whether its submitter was recorded (jobOwners); null for anything else. */
    submitterRecorded: boolean | null
  }
}

const JOB_ID = /^[0-9a-fA-F]{32}$/

/**
 * The job a submission's answer says Flink started: `POST /jars/:jarid/run` answers `{jobid}`, `POST /jobs`
 * (the CLI's `flink run`) `{jobUrl: "/jobs/<id>"}`, 2.x's `run-application` `{applicationid}` (job scope
 * judges an application by its id). Null for any other action or answer.
 */
export function submittedJobOf(action: string, body: unknown): string | null {
  if (body === null || typeof body !== 'object') return null
  const id = idIn(action, body as Record<string, unknown>)
  return typeof id === 'string' && JOB_ID.test(id) ? id.toLowerCase() : null
}

function idIn(action: string, answer: Record<string, unknown>): unknown {
  switch (action) {
    case 'POST /jars/:jarid/run':
      return answer.jobid
    case 'POST /jobs':
      return typeof answer.jobUrl === 'string' ? /^\/jobs\/([^/]*)$/.exec(answer.jobUrl)?.[1] : null
    case 'POST /jars/:jarid/run-application':
      return answer.applicationid
    default:
      return null
  }
}

/**
 * Records the caller as the submitter of the job Flink's answer names, before the answer goes back: when
 * the submitter learns the job's id, every worker and replica knows whose it is. A store that fails does not
 * hide the job Flink started (the answer still goes back); the error is logged, counted and in the audit line.
 */
export async function recordSubmitter(
  request: FastifyRequest,
  reply: FastifyReply,
  body: unknown,
): Promise<void> {
  const owners = request.pipeline.jobOwners
  if (owners === null || request.upstream === null || reply.statusCode >= 300) return
  const job = submittedJobOf(`${request.method} ${request.authz?.route?.template}`, body)
  if (job === null) return
  try {
    await owners.record(request.upstream.cluster, job, request.identity!.subject)
    request.submitterRecorded = true
  } catch (err) {
    request.submitterRecorded = false
    request.log.error(
      { err, jobId: job },
      "the job's submitter could not be recorded (jobOwners): ownJobs grants will not give the job to them",
    )
  }
}
