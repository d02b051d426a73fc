import type { FastifyReply, FastifyRequest } from 'fastify'
import { catalogOf } from '../job-scope/catalog.js'
import { auditLineOf } from './audit.js'
import type { AuditConfig } from './audit-config.js'
import { follow, followUpPlanOf } from './audit-follow-up.js'
import { type AuditWebhook, createAuditWebhook } from './audit-webhook.js'
import type { Logger } from './logger.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** The name of the job the request addresses when job scope looked it up; else null. */
    jobName: string | null
  }
}

/** The job list a name is read from is reused this long (job scope may keep its own list fresher). */
const NAME_CACHE_MS = 2000

/**
 * The audit trail (docs/audit.md): one `audit` line per control, submit or cluster request when it is
 * answered (`phase: "requested"`, allowed or not), and for an accepted action Flink finishes later one more
 * (`phase: "completed"`, the same request id) saying how it ended: "alice stopped job orders-v3 (…) with
 * savepoint s3://…/savepoint-…, completed at …". The job's name is read from Flink's job list for the second
 * line (the first has it when job scope looked it up): a refused request never makes flink-guard ask Flink
 * anything. Each line also goes to the webhook when there is one.
 */
export interface AuditTrail {
  /** When the request is answered: its line, and the follow-up of an accepted action. */
  record(request: FastifyRequest, reply: FastifyReply): void
  /** Ends the follow-ups (their outcome "unknown") and waits briefly for the webhook. */
  close(): Promise<void>
}

export function createAuditTrail(config: AuditConfig, logger: Logger): AuditTrail {
  const webhook: AuditWebhook | null =
    config.webhook === undefined ? null : createAuditWebhook(config.webhook, logger)
  const { followUp } = config
  let pending = 0
  let closeFollowUps!: () => void
  const closed = new Promise<void>((resolve) => {
    closeFollowUps = resolve
  })
  const write = (request: FastifyRequest, line: Record<string, unknown>) => {
    request.log.info({ audit: line }, 'audit')
    webhook?.send({ reqId: request.id, ...line })
  }
  return {
    record(request, reply) {
      const line = auditLineOf(request, reply)
      if (line === null) return
      const plan =
        followUp.enabled && line.allowed && reply.statusCode < 300 && request.upstream !== null
          ? followUpPlanOf({
              method: request.method,
              template: request.authz!.route!.template,
              jobId: line.jobId,
              triggerId: line.triggerId,
            })
          : null
      const following = plan !== null && pending < followUp.maxPending
      write(request, {
        ...line,
        phase: 'requested',
        followUp: plan === null ? 'none' : following ? 'following' : 'too_many',
      })
      if (!following) return
      pending++
      const pool = request.upstream!.forwarder.pool
      void follow(pool, plan, { ...followUp, closed })
        .then(async (outcome) => {
          const jobName = line.jobName ?? (line.jobId === null ? null : await nameOf(request, line.jobId))
          const completedAt = new Date()
          write(request, {
            ...line,
            phase: 'completed',
            jobName,
            ...outcome,
            time: completedAt.toISOString(),
            requestedAt: line.time,
            durationMs: completedAt.getTime() - Date.parse(line.time),
          })
        })
        .finally(() => {
          pending--
        })
    },
    async close() {
      closeFollowUps()
      await webhook?.close(1000)
    },
  }
}

async function nameOf(request: FastifyRequest, jobId: string): Promise<string | null> {
  try {
    return (await catalogOf(request.upstream!.forwarder.pool).job(jobId, NAME_CACHE_MS))?.name ?? null
  } catch {
    // Flink's job list is not to be had: the line goes without the name rather than not at all.
    return null
  }
}
