import Fastify, { type FastifyInstance, LogController } from 'fastify'
import { replyWithError } from '../error-reply.js'
import { ERROR_CODE_HEADER, ERRORS, FlinkGuardError } from '../errors.js'
import type { CheckResult } from './health.js'
import type { Logger } from './logger.js'
import type { ProxyMetrics } from './metrics.js'

export type ReadinessChecks = Record<string, () => Promise<CheckResult>>

/**
 * The admin listener, on its own port so probes and (later) metrics never share the public door.
 * `/healthz` says the process is alive; `/readyz` says whether it can do its job, and if not, why.
 */
export async function buildAdminApp(
  checks: ReadinessChecks,
  metrics: ProxyMetrics | null,
  logger: Logger,
  clusterChecks: ReadinessChecks = {},
): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: logger,
    logController: new LogController({ disableRequestLogging: true }),
  })
  app.setErrorHandler((error, request, reply) => replyWithError(error, request, reply))
  app.setNotFoundHandler((request, reply) =>
    replyWithError(new FlinkGuardError('FG_ERR_ADMIN_NOT_FOUND'), request, reply),
  )

  app.get('/healthz', async () => ({ status: 'alive' }))

  if (metrics !== null) {
    app.get('/metrics', async (_request, reply) =>
      reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()),
    )
  }

  app.get('/readyz', async (_request, reply) => {
    const names = Object.keys(checks)
    const results = await Promise.all(names.map((name) => checks[name]!()))
    const report = Object.fromEntries(names.map((name, index) => [name, results[index]!]))
    const failed = names.filter((_name, index) => !results[index]!.ok)
    if (failed.length === 0) return { status: 'ready', checks: report }
    const reasons = failed.map((name) => `${name}: ${report[name]!.reason ?? 'failed'}`)
    // Not Flink's client path (probes and people read it), so the checks stay in the body beside the code.
    return reply
      .code(503)
      .header(ERROR_CODE_HEADER, 'FG_ERR_ADMIN_NOT_READY')
      .send({
        errors: [`${ERRORS.FG_ERR_ADMIN_NOT_READY.message}: ${reasons.join('; ')}`],
        code: 'FG_ERR_ADMIN_NOT_READY',
        checks: report,
      })
  })

  // A gateway stays ready while one of its clusters is down (that cluster's routes answer 503 on their own);
  // each cluster has a probe of its own for dashboards and alerts.
  app.get<{ Params: { name: string } }>('/readyz/clusters/:name', async (request, reply) => {
    const check = Object.hasOwn(clusterChecks, request.params.name)
      ? clusterChecks[request.params.name]
      : undefined
    if (check === undefined) throw new FlinkGuardError('FG_ERR_ADMIN_NOT_FOUND')
    const result = await check()
    if (result.ok) return { status: 'ready', cluster: request.params.name }
    return reply
      .code(503)
      .header(ERROR_CODE_HEADER, 'FG_ERR_ADMIN_NOT_READY')
      .send({
        errors: [`${ERRORS.FG_ERR_ADMIN_NOT_READY.message}: ${result.reason ?? 'failed'}`],
        code: 'FG_ERR_ADMIN_NOT_READY',
      })
  })

  return app
}
