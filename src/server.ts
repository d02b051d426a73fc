import type { Server as HttpsServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import type { FastifyInstance } from 'fastify'
import { buildProxyApp } from './app.js'
import { ConfigError, type LoadedConfig } from './config/load.js'
import type { Config } from './config/schema.js'
import { FlinkGuardError } from './errors.js'
import { openJobOwners } from './job-owners/open.js'
import { buildAdminApp, type ReadinessChecks } from './observability/admin-app.js'
import type { Logger } from './observability/logger.js'
import { ProxyMetrics } from './observability/metrics.js'
import { buildPipeline, type ProcessState } from './pipeline/pipeline.js'
import { PipelineSwitch } from './pipeline/pipeline-switch.js'
import { restartOnlyChanges } from './pipeline/restart-only.js'
import { type Budgets, LOCAL_BUDGETS } from './ratelimit/budgets.js'
import { createRedisBudgets } from './ratelimit/redis-budgets.js'
import { startTlsReload, type TlsReloader } from './tls/reload.js'
import { loadServerTls, pinsOf } from './tls/server-tls.js'
import { SessionTickets, TicketKeyRing } from './tls/session-tickets.js'

/** How often a draining server closes connections that went idle after their last response. */
const IDLE_SWEEP_MS = 50

export interface RunningServer {
  readonly proxy: FastifyInstance
  readonly admin: FastifyInstance
  /** Base URLs with the ports actually bound (port 0 picks free ones); a worker's admin app does not listen (''). */
  readonly proxyUrl: string
  readonly adminUrl: string
  /** Null with `metrics.enabled: false`. */
  readonly metrics: ProxyMetrics | null
  /**
   * Stops accepting, lets in-flight requests finish for up to `graceMs`, then closes what is left.
   * Resolves `true` when everything finished within the grace period.
   */
  close(graceMs?: number): Promise<boolean>
  /** Re-reads the TLS files now, as SIGHUP does (TLS listeners only). */
  readonly reloadTls?: () => boolean
  /**
   * Replaces the running config with the one `load` returns, for every request that starts from now on
   * (SIGHUP does this with the config file). Refused, with the reason logged and the running config kept,
   * when `load` throws, when the new config changes a key that takes a restart, or when its authenticators
   * cannot start. Resolves whether the new config is in use. Reloads run one at a time.
   */
  reloadConfig(load: () => LoadedConfig): Promise<boolean>
  /** Requests still running, per pipeline: the current config's first, then replaced ones still draining. */
  readonly inFlight: () => number[]
}

export interface ServerOptions {
  /** Where the brute-force budgets live when Redis does not hold them (absent: this process). */
  readonly budgets?: Budgets
  /** A worker of a process group (src/workers/): its number, a label on its metrics; its admin app does not listen. */
  readonly worker?: number
  /** The TLS ticket keys, when another process keeps them (a worker's primary); absent: this process rotates its own. */
  readonly ticketKeys?: TicketKeyRing
}

/** Starts the proxy and admin listeners from a validated config: the process-independent core of `serve`. */
export async function startServer(
  config: Readonly<Config>,
  logger: Logger,
  options: ServerOptions = {},
): Promise<RunningServer> {
  const metrics = config.metrics.enabled ? new ProxyMetrics(options.worker) : null
  const local = options.budgets ?? LOCAL_BUDGETS
  const budgets =
    config.redis === undefined ? local : createRedisBudgets(config.redis, local, logger, metrics)
  const tlsConfig = config.tls
  const tls = tlsConfig === undefined ? null : loadServerTls(tlsConfig)
  const jobOwners = await openJobOwners(config, logger, metrics).catch(async (err: unknown) => {
    await budgets.close()
    throw new FlinkGuardError('FG_ERR_JOB_OWNERS_UNAVAILABLE', {
      message: (err as Error).message,
      cause: err,
    })
  })
  const shared: ProcessState = { budgets, jobOwners }
  const closeShared = async () => {
    await Promise.all([budgets.close(), jobOwners?.close()])
  }
  const pipelines = new PipelineSwitch(await buildPipeline(config, logger, metrics, shared))
  metrics?.observeInFlight(() => pipelines.inFlight.reduce((sum, count) => sum + count, 0))
  const proxy = await buildProxyApp(config, {
    pipelines,
    logger,
    metrics,
    tls,
    pins: pinsOf(tlsConfig?.pinnedFingerprints ?? []),
    budgets,
    ...(metrics === null
      ? {}
      : {
          onHandshakeError: (reason: string) => metrics.recordHandshakeError(reason),
          onHandshake: (resumed: boolean) => metrics.recordHandshake(resumed),
        }),
  })
  // A worker seals and opens tickets with its primary's keys; a process on its own rotates (and closes) its own.
  const ownTicketKeys =
    tlsConfig === undefined || options.ticketKeys !== undefined
      ? null
      : TicketKeyRing.rotating(tlsConfig.sessionLifetimeSec)
  const tickets =
    tlsConfig === undefined
      ? null
      : new SessionTickets(
          proxy.server as HttpsServer,
          tlsConfig.sessionTickets,
          (options.ticketKeys ?? ownTicketKeys)!,
        )
  const reloader: TlsReloader | null =
    tls === null
      ? null
      : startTlsReload(
          proxy.server as HttpsServer,
          tls,
          () => loadServerTls(tlsConfig!),
          logger,
          metrics,
          () => tickets!.attach(),
        )
  // Asked on every probe, so a reload's clusters and authenticators are the ones checked. Flink must answer;
  // every key source must be loaded, one behind an identity provider (JWKS URI, OIDC discovery) only for
  // /readyz/strict, so the operator and client certificates keep working while it is away.
  const checks = (): ReadinessChecks => {
    const { upstreams, chain } = pipelines.current
    const current: ReadinessChecks = Object.fromEntries(
      Object.entries(upstreams.readiness).map(([name, run]) => [name, { required: true, run }]),
    )
    for (const authenticator of chain.authenticators) {
      current[`auth.${authenticator.method}`] = {
        required: !authenticator.readinessNeedsProvider,
        run: async () => authenticator.ready(),
      }
    }
    return current
  }
  const admin = await buildAdminApp(
    checks,
    metrics,
    logger,
    () => pipelines.current.upstreams.clusterReadiness,
  )

  try {
    await proxy.listen({ host: config.listen.host, port: config.listen.port })
    if (options.worker === undefined) await admin.listen({ host: config.admin.host, port: config.admin.port })
  } catch (err) {
    reloader?.close()
    ownTicketKeys?.close()
    await Promise.allSettled([proxy.close(), admin.close(), pipelines.close(), closeShared()])
    // Node's message names the code already: "listen EADDRINUSE: address already in use 127.0.0.1:8443".
    throw new FlinkGuardError('FG_ERR_LISTEN_FAILED', {
      message: `cannot listen: ${(err as Error).message}`,
      cause: err,
    })
  }

  const close = async (graceMs = config.shutdown.graceMs): Promise<boolean> => {
    // Stop accepting and close idle keep-alive connections; in-flight requests run on. A connection whose
    // response finishes during the drain goes idle and would hold close() open, so keep closing idle ones.
    const drained = Promise.all([proxy.close(), admin.close()]).then(() => true)
    const sweep = setInterval(() => {
      proxy.server.closeIdleConnections()
      admin.server.closeIdleConnections()
    }, IDLE_SWEEP_MS)
    let timer: NodeJS.Timeout | undefined
    const deadline = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), graceMs)
    })
    const inTime = await Promise.race([drained, deadline])
    clearTimeout(timer)
    clearInterval(sweep)
    if (!inTime) {
      proxy.server.closeAllConnections()
      admin.server.closeAllConnections()
      await drained
    }
    await pipelines.close(!inTime)
    await closeShared()
    reloader?.close()
    ownTicketKeys?.close()
    return inTime
  }

  let reloading: Promise<unknown> = Promise.resolve()
  const reloadConfig = (load: () => LoadedConfig): Promise<boolean> => {
    const next = reloading.then(() => replaceConfig(pipelines, load, logger, metrics, shared))
    reloading = next
    return next
  }

  return {
    proxy,
    admin,
    proxyUrl: urlOf(proxy, tls === null ? 'http' : 'https'),
    adminUrl: options.worker === undefined ? urlOf(admin, 'http') : '',
    metrics,
    close,
    ...(reloader === null ? {} : { reloadTls: reloader.reload }),
    reloadConfig,
    inFlight: () => pipelines.inFlight,
  }
}

/** One config reload: every refusal is logged with its reason and counted, and changes nothing. */
async function replaceConfig(
  pipelines: PipelineSwitch,
  load: () => LoadedConfig,
  logger: Logger,
  metrics: ProxyMetrics | null,
  shared: ProcessState,
): Promise<boolean> {
  const refuse = (reason: string, problems: readonly string[]) => {
    logger.error({ reason, problems }, 'config reload refused: the running config stays in use')
    metrics?.reloaded('config', 'failure')
    return false
  }
  let loaded: LoadedConfig
  try {
    loaded = load()
  } catch (err) {
    if (err instanceof ConfigError) return refuse('the new config is invalid', err.problems)
    return refuse('the new config cannot be read', [(err as Error).message])
  }
  const running = pipelines.current.config
  const restartOnly = restartOnlyChanges(running, loaded.config)
  if (restartOnly.length > 0) {
    return refuse(
      'the new config changes keys that take a restart',
      restartOnly.map((key) => `"${key}" changed: restart flink-guard to change it`),
    )
  }
  let next: Awaited<ReturnType<typeof buildPipeline>>
  try {
    next = await buildPipeline(loaded.config, logger, metrics, shared)
  } catch (err) {
    return refuse('the new config cannot start its authenticators', [(err as Error).message])
  }
  pipelines.replace(next)
  for (const warning of loaded.warnings) logger.warn({ warning }, 'configuration warning')
  logger.info(
    {
      upstream: loaded.config.upstream?.url ?? null,
      clusters: loaded.config.clusters?.map((cluster) => cluster.name) ?? [],
    },
    'config reloaded: new requests use it',
  )
  metrics?.reloaded('config', 'success')
  return true
}

function urlOf(app: FastifyInstance, scheme: string): string {
  const address = app.server.address() as AddressInfo
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address
  return `${scheme}://${host}:${address.port}`
}
