import type { Server as HttpsServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import type { FastifyInstance } from 'fastify'
import { buildProxyApp } from './app.js'
import { createAuthChain } from './auth/create-chain.js'
import { OidcAuthenticator } from './auth/oidc/authenticator.js'
import { withoutProxyCookies } from './auth/oidc/proxy-cookies.js'
import { compileNetworks } from './authz/networks.js'
import type { Config } from './config/schema.js'
import { FlinkGuardError } from './errors.js'
import { buildAdminApp, type ReadinessChecks } from './observability/admin-app.js'
import type { Logger } from './observability/logger.js'
import { ProxyMetrics } from './observability/metrics.js'
import { requestHeaderPolicy } from './proxy/headers.js'
import { corsPolicy } from './proxy/response-policy.js'
import { startTlsReload, type TlsReloader } from './tls/reload.js'
import { loadServerTls, pinsOf } from './tls/server-tls.js'
import { createUpstreams } from './upstream/upstreams.js'

/** How often a draining server closes connections that went idle after their last response. */
const IDLE_SWEEP_MS = 50

export interface RunningServer {
  readonly proxy: FastifyInstance
  readonly admin: FastifyInstance
  /** Base URLs with the ports actually bound (port 0 picks free ones). */
  readonly proxyUrl: string
  readonly adminUrl: string
  /**
   * Stops accepting, lets in-flight requests finish for up to `graceMs`, then closes what is left.
   * Resolves `true` when everything finished within the grace period.
   */
  close(graceMs?: number): Promise<boolean>
  /** Re-reads the TLS files now, as SIGHUP does (TLS listeners only). */
  readonly reloadTls?: () => boolean
}

/** Starts the proxy and admin listeners from a validated config: the process-independent core of `serve`. */
export async function startServer(config: Readonly<Config>, logger: Logger): Promise<RunningServer> {
  const metrics = config.metrics.enabled ? new ProxyMetrics() : null
  const tlsConfig = config.tls
  const tls = tlsConfig === undefined ? null : loadServerTls(tlsConfig)
  const chain = await createAuthChain(config.auth, logger, (what, result) => metrics?.reloaded(what, result))
  const oidc =
    chain.authenticators.find((authenticator) => authenticator instanceof OidcAuthenticator) ?? null
  const upstreams = createUpstreams(config, {
    headerPolicy: (identityHeaders) =>
      requestHeaderPolicy({
        identityHeaders,
        // The session and login cookies are the proxy's: Flink never sees them, the user's other cookies pass.
        ...(oidc === null ? {} : { filterCookie: withoutProxyCookies }),
      }),
    metrics,
  })
  const { allowedNetworks } = config.authz
  const proxy = await buildProxyApp(config, {
    upstreams,
    logger,
    metrics,
    chain,
    allowedNetworks: allowedNetworks.length > 0 ? compileNetworks(allowedNetworks) : null,
    cors: corsPolicy(config.responses.cors),
    tls,
    pins: pinsOf(tlsConfig?.pinnedFingerprints ?? []),
    login: oidc?.login ?? null,
    ...(metrics === null
      ? {}
      : { onHandshakeError: (reason: string) => metrics.recordHandshakeError(reason) }),
  })
  const reloader: TlsReloader | null =
    tls === null
      ? null
      : startTlsReload(proxy.server as HttpsServer, tls, () => loadServerTls(tlsConfig!), logger, metrics)
  // Flink must answer; every key source must be loaded, one behind an identity provider (JWKS URI, OIDC
  // discovery) only for /readyz/strict, so the operator and client certificates keep working while it is away.
  const checks: ReadinessChecks = Object.fromEntries(
    Object.entries(upstreams.readiness).map(([name, run]) => [name, { required: true, run }]),
  )
  for (const authenticator of chain.authenticators) {
    checks[`auth.${authenticator.method}`] = {
      required: !authenticator.readinessNeedsProvider,
      run: async () => authenticator.ready(),
    }
  }
  const admin = await buildAdminApp(checks, metrics, logger, upstreams.clusterReadiness)

  try {
    await proxy.listen({ host: config.listen.host, port: config.listen.port })
    await admin.listen({ host: config.admin.host, port: config.admin.port })
  } catch (err) {
    reloader?.close()
    await Promise.allSettled([proxy.close(), admin.close(), upstreams.close(), chain.close()])
    const { code, message } = err as { code?: string; message?: string }
    throw new FlinkGuardError('FG_ERR_LISTEN_FAILED', {
      message: `cannot listen: ${code ?? ''} ${message ?? ''}`,
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
    await (inTime ? upstreams.close() : upstreams.destroy())
    await chain.close()
    reloader?.close()
    return inTime
  }

  return {
    proxy,
    admin,
    proxyUrl: urlOf(proxy, tls === null ? 'http' : 'https'),
    adminUrl: urlOf(admin, 'http'),
    close,
    ...(reloader === null ? {} : { reloadTls: reloader.reload }),
  }
}

function urlOf(app: FastifyInstance, scheme: string): string {
  const address = app.server.address() as AddressInfo
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address
  return `${scheme}://${host}:${address.port}`
}
