import type { FastifyInstance, FastifyRequest } from 'fastify'
import { isBrowserNavigation } from '../auth/oidc/browser-request.js'
import { FlinkGuardError } from '../errors.js'
import type { ProxyMetrics } from '../observability/metrics.js'
import { routeLabelOf } from '../observability/route-label.js'
import type { PublicBase, Upstream } from './upstream.js'
import { DEFAULT_UPSTREAM, normalHost, type UpstreamSet } from './upstreams.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** The Flink this request goes to, once resolved (after authentication, before authorization). */
    upstream: Upstream | null
    /** Where the client reaches that Flink through the gateway (src/proxy/flink-addresses.ts rebases onto it). */
    publicBase: PublicBase | null
  }
}

/**
 * The upstream-resolution stage of the pipeline (app.ts step 3): request -> cluster -> pool and policy. It
 * runs after authentication, so an anonymous scan never makes the gateway ask a ResourceManager anything,
 * and before authorization, which judges the path as the cluster's Flink sees it (prefix removed) by the
 * cluster's own policy. `request.canonical` and `request.routeLabel` are replaced by the cluster's view.
 * `upstreamsOf` gives the set of the config the request started on (a reload swaps clusters too).
 */
export function upstreamStage(
  scope: FastifyInstance,
  upstreamsOf: (request: FastifyRequest) => UpstreamSet,
  metrics: ProxyMetrics | null,
): void {
  scope.decorateRequest('upstream', null)
  scope.decorateRequest('publicBase', null)
  scope.addHook('onRequest', async (request, reply) => {
    const identity = request.identity!
    const resolution = await upstreamsOf(request).resolve({
      hostname: hostnameOf(request),
      canonical: request.canonical!,
      subject: identity.subject,
      roles: identity.roles,
      navigation: isBrowserNavigation(request.method, request.headers),
    })
    if (resolution.kind === 'redirect') {
      // 308 keeps the method (the dashboard is a GET, the CLI never sends the bare prefix); 303 is a GET elsewhere.
      return reply.code(resolution.status).header('location', resolution.location).send()
    }
    request.upstream = resolution.upstream
    request.publicBase = resolution.publicBase
    if (resolution.canonical !== request.canonical) {
      request.canonical = resolution.canonical
      request.routeLabel = routeLabelOf(request.method, resolution.canonical)
    }
    if (resolution.roles !== null) request.identity = { ...identity, roles: resolution.roles }
  })
  if (metrics !== null) {
    scope.addHook('onResponse', async (request, reply) => {
      const name = request.upstream?.name
      if (name !== undefined && name !== DEFAULT_UPSTREAM)
        metrics.recordClusterRequest(name, reply.statusCode)
    })
  }
}

/**
 * The Host header's name (Fastify's `hostname`: X-Forwarded-Host only from trusted proxies), without port; for a
 * forward-auth check, the host its front proxy named (never a client's X-Forwarded-Host).
 */
function hostnameOf(request: FastifyRequest): string | null {
  const hostname = request.forwardAuthHost === null ? request.hostname : withoutPort(request.forwardAuthHost)
  return hostname === undefined || hostname === '' ? null : normalHost(hostname)
}

/** `host[:port]` or `[v6][:port]` without the port, as Fastify's `hostname` gives it. */
function withoutPort(host: string): string {
  const end = host.startsWith('[') ? host.indexOf(']') + 1 : host.indexOf(':')
  return end <= 0 ? host : host.slice(0, end)
}

/** The forwarding handler: the resolved upstream's pool. */
export async function forwardToUpstream(
  request: FastifyRequest,
  reply: Parameters<Upstream['forwarder']['forward']>[1],
) {
  if (request.upstream === null) throw new FlinkGuardError('FG_ERR_PROXY_INTERNAL')
  return request.upstream.forwarder.forward(request, reply)
}
