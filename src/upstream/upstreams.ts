import type { FastifyRequest } from 'fastify'
import { compilePolicy } from '../authz/decide.js'
import type { Config } from '../config/schema.js'
import { FlinkGuardError } from '../errors.js'
import type { CheckResult } from '../observability/health.js'
import { checkUpstream } from '../observability/health.js'
import type { ProxyMetrics } from '../observability/metrics.js'
import { createForwarder, type ForwarderOptions, type UpstreamObserver } from '../proxy/forward.js'
import type { IdentityHeaderNames, RequestHeaderPolicy } from '../proxy/headers.js'
import type { UpstreamConfig } from './config.js'
import { splitPrefix } from './prefix.js'
import type { PublicBase, Resolution, ResolutionInput, Upstream, UpstreamSource } from './upstream.js'
import { createYarnSource, YARN_UPSTREAM } from './yarn/yarn-source.js'

/** The path root of the gateway's clusters: `/clusters/<name>/`. */
export const CLUSTERS_ROOT = 'clusters'
/** The name of the top-level `upstream` in metrics and readiness. */
export const DEFAULT_UPSTREAM = 'default'
/** A Flink served at the root of the host the request addressed. */
const ROOT_BASE: PublicBase = { host: null, path: '' }

type Check = () => Promise<CheckResult>

/**
 * Upstream resolution, the stage between authentication and authorization: which Flink a request addresses,
 * the path as that Flink sees it, the pool to it and the policy it is judged by. Built once from the config.
 */
export interface UpstreamSet {
  resolve(input: ResolutionInput): Promise<Resolution>
  /** Checks that decide /readyz: the top-level upstream only (one dead cluster must not take the gateway out). */
  readonly readiness: Readonly<Record<string, Check>>
  /** One check per named cluster, answered at /readyz/clusters/<name>. */
  readonly clusterReadiness: Readonly<Record<string, Check>>
  close(): Promise<void>
  /** Ends every upstream connection now (shutdown after the grace period). */
  destroy(): Promise<void>
}

export interface UpstreamSetDependencies {
  readonly headerPolicy: (identityHeaders: IdentityHeaderNames | null) => RequestHeaderPolicy
  readonly metrics: ProxyMetrics | null
}

export function createUpstreams(config: Readonly<Config>, deps: UpstreamSetDependencies): UpstreamSet {
  const { metrics } = deps
  const build = (
    name: string,
    upstream: UpstreamConfig,
    authz: Partial<Config['authz']> | undefined,
    options?: ForwarderOptions,
  ): Upstream => ({
    name,
    cluster: name,
    forwarder: createForwarder(
      upstream,
      config,
      deps.headerPolicy(upstream.identityHeaders ?? null),
      metrics === null ? undefined : clusterObserver(metrics, name),
      options,
    ),
    policy: compilePolicy({ ...config.authz, ...authz }),
  })
  const fallback = config.upstream === undefined ? null : build(DEFAULT_UPSTREAM, config.upstream, undefined)
  const byPrefix = new Map<string, Upstream>()
  const byHost = new Map<string, Upstream>()
  for (const cluster of config.clusters ?? []) {
    const upstream = build(cluster.name, cluster.upstream, cluster.authz)
    if (cluster.pathPrefix) byPrefix.set(cluster.name, upstream)
    for (const host of cluster.hosts) byHost.set(normalHost(host), upstream)
  }
  const all = [
    ...(fallback === null ? [] : [fallback]),
    ...new Set([...byPrefix.values(), ...byHost.values()]),
  ]
  const yarn: UpstreamSource | null =
    config.yarn === undefined ? null : createYarnSource(config, config.yarn, deps)

  async function resolve(input: ResolutionInput): Promise<Resolution> {
    const atRoot = { roles: null, publicBase: ROOT_BASE }
    // A claimed host serves its cluster alone: its dashboard's origin cannot reach another cluster by path.
    const claimed = input.hostname === null ? undefined : byHost.get(input.hostname)
    if (claimed !== undefined)
      return { kind: 'upstream', upstream: claimed, canonical: input.canonical, ...atRoot }
    const split =
      byPrefix.size > 0 ? splitPrefix(input.canonical, CLUSTERS_ROOT) : ({ kind: 'none' } as const)
    if (split.kind !== 'none') {
      const upstream = byPrefix.get(split.name)
      if (upstream === undefined) throw new FlinkGuardError('FG_ERR_CLUSTER_UNKNOWN')
      if (split.kind === 'bare') return { kind: 'redirect', status: 308, location: split.location }
      const publicBase = { host: null, path: `/${CLUSTERS_ROOT}/${split.name}` }
      return { kind: 'upstream', upstream, canonical: split.canonical, roles: null, publicBase }
    }
    const discovered = yarn === null ? null : await yarn.resolve(input)
    if (discovered !== null) return discovered
    if (fallback === null) throw new FlinkGuardError('FG_ERR_CLUSTER_UNKNOWN')
    return { kind: 'upstream', upstream: fallback, canonical: input.canonical, ...atRoot }
  }

  const check =
    (upstream: Upstream): Check =>
    async () => {
      const result = await checkUpstream(upstream.forwarder.pool)
      if (upstream === fallback) metrics?.setUpstreamUp(result.ok)
      else metrics?.setClusterUp(upstream.name, result.ok)
      return result
    }
  return {
    resolve,
    readiness: fallback === null ? {} : { upstream: check(fallback) },
    clusterReadiness: Object.fromEntries([
      ...all.filter((upstream) => upstream !== fallback).map((upstream) => [upstream.name, check(upstream)]),
      ...(yarn === null ? [] : [[YARN_UPSTREAM, () => yarn.readiness()]]),
    ]),
    close: async () => {
      await Promise.all([...all.map((upstream) => upstream.forwarder.close()), yarn?.close()])
    },
    destroy: async () => {
      await Promise.all([...all.map((upstream) => upstream.forwarder.pool.destroy()), yarn?.destroy()])
    },
  }
}

/** Host names compare in lower case, without a trailing dot (RFC 1034 §3.1: `a.example.` is `a.example`). */
export function normalHost(host: string): string {
  const lower = host.toLowerCase()
  return lower.endsWith('.') ? lower.slice(0, -1) : lower
}

/** The default upstream keeps flink_guard_upstream_up; a named cluster has its own series. */
export function clusterObserver(metrics: ProxyMetrics, name: string): UpstreamObserver {
  if (name === DEFAULT_UPSTREAM) return metrics
  return {
    upstreamResponded(request: FastifyRequest, seconds: number) {
      metrics.upstreamResponded(request, seconds, name)
    },
    upstreamFailed(request: FastifyRequest, error: FlinkGuardError) {
      metrics.upstreamFailed(request, error, name)
    },
  }
}
