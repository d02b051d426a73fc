import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { presetForRoles } from '../authz/presets.js'
import { profilesForRoles } from '../authz/profiles.js'
import { bannerAssetRoutes } from '../dashboard/banner-assets.js'
import type { ProxyMetrics } from '../observability/metrics.js'
import { upstreamStage } from '../upstream/stage.js'
import type { UpstreamSet } from '../upstream/upstreams.js'
import { CLUSTERS_ROOT } from '../upstream/upstreams.js'
import { YARN_ROOT } from '../upstream/yarn/yarn-source.js'

/** flink-guard's own path: Flink registers nothing under `/_flink-guard`, so it never shadows a Flink route. */
export const WHO_AM_I_PATH = '/_flink-guard/whoami'
/** Where a Flink's dashboard is rooted: the default cluster, a prefix-routed cluster, a YARN application. */
const DASHBOARD_ROOTS = ['', `/${CLUSTERS_ROOT}/:cluster`, `/${YARN_ROOT}/:application`] as const

/** What a script learns about itself: never a credential or a claim it did not ask about. */
export interface WhoAmI {
  readonly subject: string
  readonly method: string
  /** The roles authorization judged by on this cluster (YARN adds owner and queue roles). */
  readonly roles: readonly string[]
  readonly cluster: string
  /** The preset those roles map to here; null: only a rule or profile can allow anything. */
  readonly preset: string | null
  readonly profiles: readonly string[]
  /** The sign-out page for an OIDC session; null for credentials the client holds itself (Basic, token, certificate). */
  readonly signOutPath: string | null
}

/**
 * `GET /_flink-guard/whoami` (and `/clusters/<name>/…` in a prefix-routed gateway, `/proxy/<application>/…`
 * for YARN), and the dashboard banner's files beside it (src/dashboard/banner.ts): who the
 * proxy takes the caller for, and the preset that buys on the cluster the path reaches. Its own scope runs
 * authentication and upstream resolution but not authorization: the answer is about the caller alone, so
 * anyone who authenticates may read it; a caller who does not gets the same 401 (or login) as on Flink's routes.
 */
export function whoAmIRoutes(
  authenticate: (request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply | undefined>,
  upstreamsOf: (request: FastifyRequest) => UpstreamSet,
  metrics: ProxyMetrics | null,
) {
  return async function whoAmIScope(scope: FastifyInstance): Promise<void> {
    scope.addHook('onRequest', authenticate)
    upstreamStage(scope, upstreamsOf, metrics)
    for (const root of DASHBOARD_ROOTS) {
      scope.get(`${root}${WHO_AM_I_PATH}`, async (request, reply) =>
        reply.header('cache-control', 'no-store').send(whoAmIOf(request)),
      )
    }
    bannerAssetRoutes(scope, DASHBOARD_ROOTS)
  }
}

function whoAmIOf(request: FastifyRequest): WhoAmI {
  const { subject, method, roles } = request.identity!
  const { name, policy } = request.upstream!
  return {
    subject,
    method,
    roles,
    cluster: name,
    preset: presetForRoles(roles, policy.roles),
    profiles: profilesForRoles(roles, policy.profiles),
    signOutPath: method === 'oidc' ? (request.pipeline.login?.logoutPath ?? null) : null,
  }
}
