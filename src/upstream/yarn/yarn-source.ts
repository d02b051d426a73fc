import { compilePolicy } from '../../authz/decide.js'
import type { Config } from '../../config/schema.js'
import { FlinkGuardError } from '../../errors.js'
import type { ProxyMetrics } from '../../observability/metrics.js'
import { createForwarder, type Forwarder } from '../../proxy/forward.js'
import type { IdentityHeaderNames, RequestHeaderPolicy } from '../../proxy/headers.js'
import type { YarnConfig } from '../config.js'
import { splitPrefix } from '../prefix.js'
import type { PublicBase, Resolution, ResolutionInput, Upstream, UpstreamSource } from '../upstream.js'
import { type AddressAllowlist, compileAllowlist, parseHostPort } from './allowlist.js'
import { finished } from './history-server.js'
import { proveIdentity } from './prove-identity.js'
import { ResourceManagers, type YarnApplication } from './resource-managers.js'

/** YARN's own proxy path, kept so links and habits carry over: `/proxy/<applicationId>/`. */
export const YARN_ROOT = 'proxy'
/** The metric label and readiness name of every YARN application (ids are unbounded, the label is not). */
export const YARN_UPSTREAM = 'yarn'
/** Synthetic roles carry this prefix; an identity's own roles with it are dropped (they could be forged). */
const YARN_ROLE_PREFIX = 'yarn:'
const OWNER_ROLE = 'yarn:owner'
/** ApplicationId.toString(): application_<clusterTimestamp>_<sequence, at least 4 digits>. */
const APPLICATION_ID = /^application_[0-9]{1,19}_[0-9]{4,19}$/
const STARTING_STATES = new Set(['NEW', 'NEW_SAVING', 'SUBMITTED', 'ACCEPTED'])
const ENDED_STATES = new Set(['FINISHED', 'FAILED', 'KILLED'])
/** Application lookups and application pools kept at most (oldest dropped first). */
const MAX_CACHED_APPLICATIONS = 1_024
const MAX_APPLICATION_POOLS = 64
/** Failures that mean the application master moved or died: ask the RM again. */
const MOVED = new Set([
  'FG_ERR_UPSTREAM_UNAVAILABLE',
  'FG_ERR_UPSTREAM_UNREACHABLE',
  'FG_ERR_UPSTREAM_CONNECT_TIMEOUT',
])

interface CachedLookup {
  readonly expires: number
  readonly app: Promise<YarnApplication | null>
}

interface ApplicationPool {
  readonly upstream: Upstream
  /** Settles once the Flink at this address proved to be the application (or failed to). */
  readonly proven: Promise<void>
}

/**
 * Flink applications on YARN (issue 16 item 2): `/proxy/<id>/` or `<application-ts-n><hostSuffix>`, resolved
 * through the RM with a short cache, routed only for RUNNING applications of type Apache Flink whose address
 * passes the allowlist and whose Flink proves to be that application. Application masters run user code:
 * they get no client cookie and no Authorization, and their Set-Cookie never reaches the client.
 */
export function createYarnSource(
  config: Readonly<Config>,
  yarn: YarnConfig,
  deps: {
    readonly headerPolicy: (identityHeaders: IdentityHeaderNames | null) => RequestHeaderPolicy
    readonly metrics: ProxyMetrics | null
    readonly now?: () => number
  },
): UpstreamSource {
  const now = deps.now ?? Date.now
  const rms = new ResourceManagers(yarn.resourceManagers, yarn.user)
  const allowlist: AddressAllowlist = compileAllowlist(yarn.allowedHosts, yarn.allowedPorts)
  const policy = compilePolicy({ ...config.authz, ...yarnPolicy(config, yarn) })
  const base = deps.headerPolicy(yarn.upstream.identityHeaders ?? null)
  // Every cookie of the client's stays here: the AM's origin is ours, and its code is the user's.
  const headerPolicy: RequestHeaderPolicy = { ...base, filterCookie: () => undefined }
  const lookups = new Map<string, CachedLookup>()
  const pools = new Map<string, ApplicationPool>()

  function lookup(appId: string): Promise<YarnApplication | null> {
    const cached = lookups.get(appId)
    if (cached !== undefined && cached.expires > now()) return cached.app
    const app = rms.application(appId)
    remember(lookups, appId, { expires: now() + yarn.cacheMs, app }, MAX_CACHED_APPLICATIONS)
    // A failed lookup is not cached: the next request asks again.
    app.catch(() => {
      if (lookups.get(appId)?.app === app) lookups.delete(appId)
    })
    return app
  }

  function poolFor(appId: string, host: string, port: number): ApplicationPool {
    const key = `${appId}@${host}:${port}`
    const existing = pools.get(key)
    if (existing !== undefined) return existing
    const origin = `${yarn.upstream.tls.truststore === undefined ? 'http' : 'https'}://${host.includes(':') ? `[${host}]` : host}:${port}`
    const forwarder: Forwarder = createForwarder(
      { ...yarn.upstream, url: origin },
      config,
      headerPolicy,
      {
        upstreamResponded: (request, seconds) =>
          deps.metrics?.upstreamResponded(request, seconds, YARN_UPSTREAM),
        upstreamFailed: (request, error) => {
          deps.metrics?.upstreamFailed(request, error, YARN_UPSTREAM)
          // The AM moved (fail-over, restart on another node): the next request asks the RM again.
          if (MOVED.has(error.code)) lookups.delete(appId)
        },
      },
      { dropSetCookie: true },
    )
    const proven = proveIdentity(forwarder.pool, appId)
    const pool: ApplicationPool = {
      upstream: { name: YARN_UPSTREAM, cluster: `${YARN_UPSTREAM}/${appId}`, forwarder, policy },
      proven,
    }
    proven.catch(() => {
      if (pools.get(key) === pool) pools.delete(key)
      void forwarder.close()
    })
    const evicted = remember(pools, key, pool, MAX_APPLICATION_POOLS)
    if (evicted !== undefined) void evicted.upstream.forwarder.close()
    return pool
  }

  async function resolve(input: ResolutionInput): Promise<Resolution | null> {
    let appId: string
    let canonical = input.canonical
    const hosted = yarn.hostSuffix === undefined ? null : applicationOfHost(input.hostname, yarn.hostSuffix)
    if (hosted !== null) {
      appId = hosted
    } else {
      if (!yarn.pathPrefix) return null
      const split = splitPrefix(input.canonical, YARN_ROOT)
      if (split.kind === 'none') return null
      // Junk never becomes an RM question.
      if (!APPLICATION_ID.test(split.name)) throw new FlinkGuardError('FG_ERR_CLUSTER_UNKNOWN')
      if (split.kind === 'bare') return { kind: 'redirect', status: 308, location: split.location }
      appId = split.name
      canonical = split.canonical
    }
    const app = await lookup(appId)
    if (app === null || app.applicationType !== 'Apache Flink')
      throw new FlinkGuardError('FG_ERR_CLUSTER_UNKNOWN')
    if (ENDED_STATES.has(app.state)) return finished(appId, canonical, input.navigation, yarn)
    const address = app.amRPCAddress === undefined ? null : parseHostPort(app.amRPCAddress)
    if (STARTING_STATES.has(app.state) || app.state !== 'RUNNING' || address === null) {
      throw new FlinkGuardError('FG_ERR_CLUSTER_STARTING')
    }
    if (!allowlist.allows(address.host, address.port)) {
      throw new FlinkGuardError('FG_ERR_CLUSTER_ADDRESS_REFUSED')
    }
    const pool = poolFor(appId, address.host, address.port)
    try {
      await pool.proven
    } catch (err) {
      lookups.delete(appId)
      throw err
    }
    return {
      kind: 'upstream',
      upstream: pool.upstream,
      canonical,
      roles: rolesOn(app, input.roles, input.subject, yarn),
      publicBase: publicBaseOf(appId, yarn),
    }
  }

  return {
    resolve,
    readiness: async () =>
      (await rms.anyActive())
        ? { ok: true }
        : { ok: false, reason: 'no ResourceManager reports itself active' },
    close: async () => {
      await Promise.all([...pools.values()].map((pool) => pool.upstream.forwarder.close()))
    },
    destroy: async () => {
      await Promise.all([...pools.values()].map((pool) => pool.upstream.forwarder.pool.destroy()))
    },
  }
}

/**
 * An application's one public address: its host form when `hostSuffix` is set, else `/proxy/<id>`. The host
 * form wins even for a request that came by path: Flink's dashboard hides its jar upload on any page whose URL
 * contains `/proxy/application_` (submit.component.ts, written for YARN's proxy) and links the `/jars`
 * `address` instead, which must then lead somewhere the upload works.
 */
function publicBaseOf(appId: string, yarn: YarnConfig): PublicBase {
  if (yarn.hostSuffix === undefined) return { host: null, path: `/${YARN_ROOT}/${appId}` }
  return { host: `${appId.replaceAll('_', '-')}${yarn.hostSuffix}`, path: '' }
}

/** `application-1700000000000-0001.yarn.example.com` -> `application_1700000000000_0001`. */
function applicationOfHost(hostname: string | null, suffix: string): string | null {
  if (hostname === null || !hostname.endsWith(suffix)) return null
  const label = hostname.slice(0, -suffix.length)
  const id = label.replaceAll('-', '_')
  return APPLICATION_ID.test(id) && label.split('-').length === 3 ? id : null
}

/** The roles an identity is judged by on one application: its own (less forged yarn: ones), owner, queue. */
function rolesOn(
  app: YarnApplication,
  roles: readonly string[],
  subject: string,
  yarn: YarnConfig,
): string[] {
  const own = roles.filter((role) => !role.startsWith(YARN_ROLE_PREFIX))
  const extra: string[] = []
  if (yarn.authz.owner !== undefined && app.user !== '' && subject === app.user) extra.push(OWNER_ROLE)
  const queue = Object.hasOwn(yarn.authz.queues, app.queue) ? yarn.authz.queues[app.queue] : undefined
  if (queue !== undefined) {
    for (const role of own) if (Object.hasOwn(queue, role)) extra.push(queueRole(app.queue, role))
  }
  return [...own, ...extra]
}

const queueRole = (queue: string, role: string) => `${YARN_ROLE_PREFIX}queue:${queue}:${role}`

/** The one policy for every application; owner and queue grants are roles only rolesOn() hands out. */
function yarnPolicy(config: Readonly<Config>, yarn: YarnConfig): Partial<Config['authz']> {
  const roles: Record<string, string> = { ...config.authz.roles, ...yarn.authz.roles }
  for (const role of Object.keys(roles)) if (role.startsWith(YARN_ROLE_PREFIX)) delete roles[role]
  if (yarn.authz.owner !== undefined) roles[OWNER_ROLE] = yarn.authz.owner
  for (const [queue, grants] of Object.entries(yarn.authz.queues)) {
    for (const [role, preset] of Object.entries(grants)) roles[queueRole(queue, role)] = preset
  }
  return {
    roles: roles as Config['authz']['roles'],
    ...(yarn.authz.rules.length > 0 ? { rules: yarn.authz.rules } : {}),
  }
}

/** Map insertion order is age: the oldest entry goes when the map is full. Returns what was dropped. */
function remember<V>(map: Map<string, V>, key: string, value: V, max: number): V | undefined {
  map.delete(key)
  map.set(key, value)
  if (map.size <= max) return undefined
  const oldest = map.keys().next().value as string
  const dropped = map.get(oldest)
  map.delete(oldest)
  return dropped
}
