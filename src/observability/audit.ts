import type { FastifyReply, FastifyRequest } from 'fastify'
import type { Category } from '../authz/routes.js'
import { clientAddressOf, responseOutcome } from './access-log.js'

/** Actions that change Flink: each one leaves an audit line, allowed or not. */
const AUDITED: ReadonlySet<Category> = new Set(['CTRL', 'SUBMIT', 'CLUSTER'])

export function isAudited(category: Category | undefined): boolean {
  return category !== undefined && AUDITED.has(category)
}

/** What Flink's answer says about the action: the trigger id of a savepoint or stop, the job a jar run started, the uploaded jar. */
export interface FlinkOutcome {
  readonly flinkRequestId?: string
  readonly jobId?: string
  readonly jarId?: string
}

export function flinkOutcomeOf(body: unknown): FlinkOutcome {
  if (body === null || typeof body !== 'object') return {}
  const record = body as Record<string, unknown>
  const outcome: { flinkRequestId?: string; jobId?: string; jarId?: string } = {}
  if (typeof record['request-id'] === 'string') outcome.flinkRequestId = record['request-id']
  if (typeof record.jobid === 'string') outcome.jobId = record.jobid
  if (typeof record.filename === 'string') {
    outcome.jarId = record.filename.slice(record.filename.lastIndexOf('/') + 1)
  }
  return outcome
}

/** The fields of an audit line (docs/audit.md). */
export interface AuditLine {
  readonly time: string
  readonly subject: string | null
  readonly authMethod: string | null
  readonly allowed: boolean
  readonly preset: string | null
  readonly rule: number | null
  readonly profile: string | null
  readonly denial: string | null
  readonly action: string
  readonly category: Category
  readonly jobId: string | null
  readonly jobName: string | null
  readonly jarId: string | null
  readonly triggerId: string | null
  /** A submission Flink accepted: whether its submitter was recorded (jobOwners); null otherwise. */
  readonly submitterRecorded: boolean | null
  readonly status: number
  readonly outcome: string
  readonly remoteAddress: string | null
}

/**
 * The line of a control, submit or cluster request (DESIGN.md §2 step 7), or null for any other: who, with
 * which preset or rule, which action on which job or jar, the status, and Flink's trigger or request id.
 * Denied attempts too: the line that matters most is the one where a viewer tried `DELETE /cluster`.
 * src/observability/audit-trail.ts writes it, and follows an accepted action to its end.
 */
export function auditLineOf(request: FastifyRequest, reply: FastifyReply): AuditLine | null {
  const authz = request.authz
  if (authz === null || !isAudited(authz.route?.category)) return null
  const identity = request.identity
  const params = authz.params
  return {
    time: new Date().toISOString(),
    subject: identity?.subject ?? null,
    authMethod: identity?.method ?? null,
    allowed: authz.allowed,
    preset: authz.preset,
    rule: authz.rule,
    profile: authz.profile,
    denial: authz.denial,
    action: `${request.method} ${authz.route!.template}`,
    category: authz.route!.category,
    jobId: params.jobid ?? request.flinkOutcome?.jobId ?? null,
    jobName: request.jobName,
    jarId: params.jarid ?? request.flinkOutcome?.jarId ?? null,
    triggerId: params.triggerid ?? request.flinkOutcome?.flinkRequestId ?? null,
    submitterRecorded: request.submitterRecorded,
    status: reply.statusCode,
    outcome: responseOutcome(reply),
    remoteAddress: clientAddressOf(request),
  }
}
