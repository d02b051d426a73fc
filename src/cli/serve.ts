import cluster from 'node:cluster'
import { loadConfigFile } from '../config/load.js'
import { inUserKeys } from '../config/origins.js'
import type { Config } from '../config/schema.js'
import { FlinkGuardError } from '../errors.js'
import { createLogger, type Logger } from '../observability/logger.js'
import { startServer } from '../server.js'
import { VERSION } from '../version.js'
import { workerCount } from '../workers/count.js'
import { runPrimary } from '../workers/primary.js'
import { budgetsThroughPrimary } from '../workers/shared-budgets.js'
import { ticketKeysThroughPrimary } from '../workers/shared-ticket-keys.js'
import { answerPrimary, connectToPrimary, workerNumber } from '../workers/worker.js'
import { configPath, parseOptions } from './args.js'
import { onReloadSignal, onShutdownSignal } from './lifecycle.js'

export const SERVE_HELP = `Usage: flink-guard serve --config <file> [--log-level <level>]

Starts the proxy and its admin listener from a YAML config file.

Options:
  --config <file>       the config file (default: $FLINK_GUARD_CONFIG)
  --log-level <level>   trace, debug, info, warn, error (default: info)
  -h, --help            show this help

On SIGHUP it re-reads the config file (and the TLS files): a valid config applies to every request that
starts after it, requests already running finish on the old one; an invalid one is refused with its
problems logged, and the running config stays. Changing listen, admin, tls, metrics,
authz.trustedProxies, limits.maxConnections, limits.maxConnectionsPerAddress, limits.handshakeTimeoutMs,
auth.oidc or shutdown takes a restart (such a reload is refused).

On SIGTERM or SIGINT it stops accepting connections, lets in-flight requests finish for up to
shutdown.graceMs, then exits 0.

With workers > 1 this process is the primary of a process group: it runs the admin listener and passes
SIGHUP, SIGTERM and SIGINT on to every worker (docs/scaling.md).`

export async function serve(argv: string[]): Promise<number> {
  const options = parseOptions(argv, { config: { type: 'string' }, 'log-level': { type: 'string' } })
  if (options.help) {
    process.stdout.write(`${SERVE_HELP}\n`)
    return 0
  }
  const file = configPath(options.config)
  const { config, warnings, origins } = loadConfigFile(file)
  const logger = createLogger(options['log-level'] ?? 'info')
  const workers = workerCount(config.workers)
  if (workers > 1 && cluster.isPrimary) {
    for (const warning of warnings) logger.warn({ warning }, 'configuration warning')
    return runPrimary(config, logger, workers)
  }
  const worker = workerNumber()
  if (worker !== undefined) return serveAsWorker(config, file, logger.child({ worker }), worker)
  const server = await startServer(config, logger).catch((err) => {
    // An unusable store flinkConf filled is named by the Flink keys it came from, as check-config does.
    if (err instanceof FlinkGuardError) {
      throw new FlinkGuardError(err.code, { message: inUserKeys(err.message, origins), cause: err.cause })
    }
    throw err
  })
  for (const warning of warnings) server.proxy.log.warn({ warning }, 'configuration warning')
  server.proxy.log.info(
    {
      version: VERSION,
      proxy: server.proxyUrl,
      admin: server.adminUrl,
      upstream: config.upstream?.url ?? null,
      clusters: config.clusters?.map((cluster) => cluster.name) ?? [],
    },
    'flink-guard started',
  )
  return untilSignalled(server, file, config.shutdown.graceMs)
}

/** One worker of a process group: the same server, its budgets, TLS ticket keys and admin answers through the primary. */
async function serveAsWorker(config: Config, file: string, logger: Logger, worker: number) {
  const primary = connectToPrimary()
  const tickets = await ticketKeysThroughPrimary(config, primary)
  // The primary may hand on rotated keys as soon as this worker listens.
  primary.answerWith(tickets.handlers)
  const server = await startServer(config, logger, {
    worker,
    budgets: budgetsThroughPrimary(primary),
    ...(tickets.ring === undefined ? {} : { ticketKeys: tickets.ring }),
  })
  answerPrimary(primary, server, tickets.handlers)
  // The primary is gone (killed, crashed): a worker without it has no budgets to ask, so it drains and exits.
  process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'))
  server.proxy.log.info({ proxy: server.proxyUrl }, 'worker started')
  return untilSignalled(server, file, config.shutdown.graceMs)
}

/** SIGHUP reloads, SIGTERM or SIGINT drains and exits 0. */
function untilSignalled(server: Awaited<ReturnType<typeof startServer>>, file: string, graceMs: number) {
  onReloadSignal(() => {
    server.proxy.log.info({ file }, 'SIGHUP: reloading the config')
    void server.reloadConfig(() => loadConfigFile(file))
  })
  onShutdownSignal(async (signal) => {
    server.proxy.log.info({ signal, graceMs }, 'shutting down: draining in-flight requests')
    const inTime = await server.close()
    server.proxy.log.info({ drained: inTime }, inTime ? 'stopped' : 'stopped after the grace period')
    return 0
  })
  return new Promise<number>(() => {})
}
