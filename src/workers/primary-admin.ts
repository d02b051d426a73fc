import type { FastifyInstance, FastifyReply } from 'fastify'
import { AggregatorRegistry, type Registry } from 'prom-client'
import { FlinkGuardError } from '../errors.js'
import { adminAppBase, notReady } from '../observability/admin-base.js'
import type { Logger } from '../observability/logger.js'

/** A worker's answer to a readiness probe, or why there is none. */
export type WorkerAnswer = { readonly status: number; readonly body: unknown } | { readonly missing: string }

export interface ProcessGroup {
  /** Every worker slot, 1..workers: each asked the same probe, a slot without a running worker answers `missing`. */
  probe(url: string): Promise<Record<string, WorkerAnswer>>
  /** The metrics of every worker that answered, as JSON (prom-client's `getMetricsAsJSON`). */
  workerMetrics(): Promise<object[][]>
  readonly registry: Registry
  readonly metricsEnabled: boolean
}

/**
 * The admin listener of a process group, in the primary. `/metrics` is one scrape of every worker (each series
 * labelled `worker`) and of the primary's own metrics. The probes mean the whole group: ready only when every
 * worker slot has a running worker and each worker's own probe is ready, so a replica whose worker is being
 * replaced leaves its Service for that moment instead of failing a share of the requests.
 */
export async function buildPrimaryAdminApp(group: ProcessGroup, logger: Logger): Promise<FastifyInstance> {
  const app = adminAppBase(logger)

  if (group.metricsEnabled) {
    app.get('/metrics', async (_request, reply) => {
      const all = [...(await group.workerMetrics()), await group.registry.getMetricsAsJSON()]
      const aggregated = AggregatorRegistry.aggregate(all)
      return reply.type(aggregated.contentType).send(await aggregated.metrics())
    })
  }

  const probe = async (url: string, reply: FastifyReply) => {
    const workers = await group.probe(url)
    const answers = Object.values(workers)
    if (answers.every((answer) => 'status' in answer && answer.status === 404)) {
      throw new FlinkGuardError('FG_ERR_ADMIN_NOT_FOUND')
    }
    const failing = Object.entries(workers).filter(
      ([, answer]) => !('status' in answer) || answer.status !== 200,
    )
    if (failing.length === 0) return { status: 'ready', workers: bodies(workers) }
    const reasons = failing.map(([slot, answer]) =>
      'missing' in answer ? `worker ${slot}: ${answer.missing}` : `worker ${slot}: not ready`,
    )
    return notReady(reply, reasons, { workers: bodies(workers) })
  }
  app.get('/readyz', (_request, reply) => probe('/readyz', reply))
  app.get('/readyz/strict', (_request, reply) => probe('/readyz/strict', reply))
  app.get<{ Params: { name: string } }>('/readyz/clusters/:name', (request, reply) =>
    probe(`/readyz/clusters/${encodeURIComponent(request.params.name)}`, reply),
  )
  return app
}

function bodies(workers: Record<string, WorkerAnswer>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(workers).map(([slot, answer]) => [
      slot,
      'body' in answer ? answer.body : { missing: answer.missing },
    ]),
  )
}
