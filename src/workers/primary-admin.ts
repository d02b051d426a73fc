import Fastify, { type FastifyInstance, type FastifyReply, LogController } from 'fastify'
import { AggregatorRegistry, type Registry } from 'prom-client'
import { replyWithError } from '../error-reply.js'
import { ERROR_CODE_HEADER, ERRORS, FlinkGuardError } from '../errors.js'
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
  const app = Fastify({
    loggerInstance: logger,
    logController: new LogController({ disableRequestLogging: true }),
  })
  app.setErrorHandler((error, request, reply) => replyWithError(error, request, reply))
  app.setNotFoundHandler((request, reply) =>
    replyWithError(new FlinkGuardError('FG_ERR_ADMIN_NOT_FOUND'), request, reply),
  )

  app.get('/healthz', async () => ({ status: 'alive' }))

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
    return reply
      .code(503)
      .header(ERROR_CODE_HEADER, 'FG_ERR_ADMIN_NOT_READY')
      .send({
        errors: [`${ERRORS.FG_ERR_ADMIN_NOT_READY.message}: ${reasons.join('; ')}`],
        code: 'FG_ERR_ADMIN_NOT_READY',
        workers: bodies(workers),
      })
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
