import type { FastifyInstance, FastifyReply } from 'fastify'
import { FlinkGuardError } from '../errors.js'
import { adminAppBase, notReady } from './admin-base.js'
import type { CheckResult } from './health.js'
import type { Logger } from './logger.js'
import type { ProxyMetrics } from './metrics.js'

export interface ReadinessCheck {
  readonly run: () => Promise<CheckResult>
  /** A failure makes `/readyz` 503. Otherwise it is shown there as a warning and only `/readyz/strict` fails on it. */
  readonly required: boolean
}

export type ReadinessChecks = Record<string, ReadinessCheck>

/**
 * The admin listener, on its own port so probes and metrics never share the public door. Probes that cannot
 * deadlock a pod (docs/deploy-kubernetes.md): `/healthz` (liveness and startup) asks the process alone;
 * `/readyz` fails only on what this pod itself lacks (Flink not answering, a local key file not loaded) and
 * shows the identity-provider checks without failing on them, since a provider's blip must not take every
 * replica out of its Service at once; `/readyz/strict` fails on every check.
 */
export async function buildAdminApp(
  /** Asked on every /readyz: the checks of the current config (a reload may change the authenticators). */
  checksNow: () => ReadinessChecks,
  metrics: ProxyMetrics | null,
  logger: Logger,
  /** Asked on every /readyz/clusters/<name>: the clusters of the current config. */
  clusterChecksNow: () => Readonly<Record<string, () => Promise<CheckResult>>> = () => ({}),
): Promise<FastifyInstance> {
  const app = adminAppBase(logger)

  if (metrics !== null) {
    app.get('/metrics', async (_request, reply) =>
      reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()),
    )
  }

  const readiness = async (reply: FastifyReply, strict: boolean) => {
    const checks = checksNow()
    const names = Object.keys(checks)
    const results = await Promise.all(names.map((name) => checks[name]!.run()))
    const report = Object.fromEntries(names.map((name, index) => [name, results[index]!]))
    const failing = names.filter((_name, index) => !results[index]!.ok)
    const reason = (name: string) => `${name}: ${report[name]!.reason ?? 'failed'}`
    const failed = strict ? failing : failing.filter((name) => checks[name]!.required)
    if (failed.length === 0) {
      return failing.length === 0
        ? { status: 'ready', checks: report }
        : { status: 'ready', checks: report, warnings: failing.map(reason) }
    }
    return notReady(reply, failed.map(reason), { checks: report })
  }
  app.get('/readyz', (_request, reply) => readiness(reply, false))
  app.get('/readyz/strict', (_request, reply) => readiness(reply, true))

  // A gateway stays ready while one of its clusters is down (that cluster's routes answer 503 on their own);
  // each cluster has a probe of its own for dashboards and alerts.
  app.get<{ Params: { name: string } }>('/readyz/clusters/:name', async (request, reply) => {
    const clusterChecks = clusterChecksNow()
    const check = Object.hasOwn(clusterChecks, request.params.name)
      ? clusterChecks[request.params.name]
      : undefined
    if (check === undefined) throw new FlinkGuardError('FG_ERR_ADMIN_NOT_FOUND')
    const result = await check()
    if (result.ok) return { status: 'ready', cluster: request.params.name }
    return notReady(reply, [result.reason ?? 'failed'])
  })

  return app
}
