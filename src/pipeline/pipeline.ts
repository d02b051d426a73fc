import type { AuthChain } from '../auth/chain.js'
import { createAuthChain } from '../auth/create-chain.js'
import { OidcAuthenticator } from '../auth/oidc/authenticator.js'
import type { OidcLogin } from '../auth/oidc/login-flow.js'
import { withoutProxyCookies } from '../auth/oidc/proxy-cookies.js'
import { compileNetworks, type NetworkList } from '../authz/networks.js'
import type { Config } from '../config/schema.js'
import { compileForwardAuth, type ForwardAuth } from '../forward-auth/forward-auth.js'
import type { JobOwners } from '../job-owners/job-owners.js'
import { type AuditTrail, createAuditTrail } from '../observability/audit-trail.js'
import type { Logger } from '../observability/logger.js'
import type { ProxyMetrics } from '../observability/metrics.js'
import { requestHeaderPolicy } from '../proxy/headers.js'
import { type CorsPolicy, corsPolicy, securityHeaders } from '../proxy/response-policy.js'
import type { Budgets } from '../ratelimit/budgets.js'
import { createUpstreams, type UpstreamSet } from '../upstream/upstreams.js'

/**
 * Everything a request is checked and forwarded with that comes from the config file: built whole from one
 * validated config, so a reload swaps all of it at once (clusters and their policies too) and a request never
 * mixes two configs.
 */
export interface Pipeline {
  readonly config: Readonly<Config>
  readonly chain: AuthChain
  /** Which Flink a request addresses, its pool and its policy (src/upstream/). */
  readonly upstreams: UpstreamSet
  /** Null: every client address may try. */
  readonly allowedNetworks: NetworkList | null
  readonly cors: CorsPolicy
  /** The OIDC browser login (auth.oidc), or null. */
  readonly login: OidcLogin | null
  /** The security headers of a response over plain HTTP and over TLS. */
  readonly headersOverHttp: Record<string, string>
  readonly headersOverTls: Record<string, string>
  /** Forward-auth mode: which requests are a front proxy's checks, and how they are answered; null when off. */
  readonly forwardAuth: ForwardAuth | null
  /** Origins allowed credentialed CORS calls: they pass the cross-site rule for Basic, mTLS and anonymous. */
  readonly credentialedOrigins: ReadonlySet<string>
  /** The audit lines of control, submit and cluster actions, their follow-ups, the webhook. */
  readonly audit: AuditTrail
  /** Who submitted which job (jobOwners): one store for the process, outliving reloads; null when off. */
  readonly jobOwners: JobOwners | null
  /**
   * Stops the authenticators' watchers and timers and closes the pools to Flink once their requests are done;
   * `force` destroys the pools at once (a shutdown past its grace period).
   */
  close(force?: boolean): Promise<void>
}

/** What the process keeps across reloads and every pipeline uses: where the budgets and job owners live. */
export interface ProcessState {
  readonly budgets?: Budgets
  readonly jobOwners?: JobOwners | null
}

/** Builds a pipeline; fails (and leaves nothing running) when an authenticator cannot start, e.g. a bad htpasswd. */
export async function buildPipeline(
  config: Readonly<Config>,
  logger: Logger,
  metrics: ProxyMetrics | null,
  shared: ProcessState = {},
): Promise<Pipeline> {
  const { budgets } = shared
  const chain = await createAuthChain(
    config.auth,
    logger,
    (what, result) => metrics?.reloaded(what, result),
    budgets?.loginThrottle,
  )
  const oidc = chain.authenticators.find((authenticator) => authenticator instanceof OidcAuthenticator)
  let upstreams: UpstreamSet
  try {
    upstreams = createUpstreams(config, {
      headerPolicy: (identityHeaders) =>
        requestHeaderPolicy({
          identityHeaders,
          // The session and login cookies are the proxy's: Flink never sees them, the user's other cookies pass.
          ...(oidc === undefined ? {} : { filterCookie: withoutProxyCookies }),
        }),
      metrics,
    })
  } catch (err) {
    await chain.close()
    throw err
  }
  const { allowedNetworks } = config.authz
  const { cors } = config.responses
  const { forwardAuth } = config
  const audit = createAuditTrail(config.audit, logger)
  return {
    config,
    chain,
    upstreams,
    allowedNetworks: allowedNetworks.length > 0 ? compileNetworks(allowedNetworks) : null,
    cors: corsPolicy(cors),
    login: oidc?.login ?? null,
    headersOverHttp: securityHeaders(config.responses, false),
    headersOverTls: securityHeaders(config.responses, true),
    forwardAuth: forwardAuth?.enabled === true ? compileForwardAuth(forwardAuth) : null,
    credentialedOrigins: new Set(cors.allowCredentials ? cors.allowedOrigins : []),
    audit,
    jobOwners: shared.jobOwners ?? null,
    async close(force = false) {
      // The follow-ups first: they ask Flink through the pools closed next.
      await audit.close()
      await Promise.all([force ? upstreams.destroy() : upstreams.close(), chain.close()])
    },
  }
}
