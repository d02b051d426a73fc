import { FLINK_ROUTES, type FlinkRoute, type RouteMethod } from './routes.js'

/**
 * Built-in client profiles: a fixed list of the calls one known program makes, granted to the roles
 * `authz.profiles` maps to it. Unlike the presets they are not a ladder and grant no category: exactly these
 * routes, nothing next to them.
 */

export const PROFILES = ['kubernetes-operator'] as const

export type Profile = (typeof PROFILES)[number]

export interface ProfileCall {
  readonly method: RouteMethod
  readonly template: string
  /** Where the caller makes it: the class and method, so the list can be checked against a new release. */
  readonly source: string
}

/** The operator release the list below was read from (github.com/apache/flink-kubernetes-operator, tag). */
export const KUBERNETES_OPERATOR_RELEASE = 'release-1.15.0'

const OPERATOR = 'flink-kubernetes-operator'
const AUTOSCALER = 'flink-autoscaler'

/**
 * Every REST call of the Flink Kubernetes Operator and the autoscaler it embeds, from the `*Headers` classes and
 * RestClusterClient methods used under `src/main` of KUBERNETES_OPERATOR_RELEASE (identical in release-1.8.0 and
 * release-1.13.0 but for the checkpoint-statistics calls added in between). Never `DELETE /cluster`: the
 * operator deletes a cluster through Kubernetes. `GET /savepoint-disposal/:triggerid` is absent on purpose:
 * disposeSavepoint sends the trigger and does not poll.
 */
export const KUBERNETES_OPERATOR_CALLS: readonly ProfileCall[] = Object.freeze([
  { method: 'GET', template: '/config', source: `${OPERATOR} AbstractFlinkService.getClusterInfo` },
  {
    method: 'GET',
    template: '/jobs/overview',
    source: `${OPERATOR} AbstractFlinkService.getJobStatus, SessionReconciler.getNonTerminalJobs`,
  },
  {
    method: 'GET',
    template: '/jobs/:jobid',
    source: `${AUTOSCALER} ScalingMetricCollector.getJobDetailsInfo`,
  },
  {
    method: 'GET',
    template: '/jobs/:jobid/execution-result',
    source: `${OPERATOR} AbstractFlinkService.requestJobResult`,
  },
  { method: 'PATCH', template: '/jobs/:jobid', source: `${OPERATOR} AbstractFlinkService.cancelJobOrError` },
  {
    method: 'GET',
    template: '/jobs/:jobid/exceptions',
    source: `${OPERATOR} AbstractFlinkService.getJobExceptions`,
  },
  {
    method: 'GET',
    template: '/jobs/:jobid/checkpoints',
    source: `${OPERATOR} AbstractFlinkService.getCheckpointInfo, populateStateSize`,
  },
  {
    method: 'POST',
    template: '/jobs/:jobid/checkpoints',
    source: `${OPERATOR} AbstractFlinkService.triggerCheckpoint`,
  },
  {
    method: 'GET',
    template: '/jobs/:jobid/checkpoints/:triggerid',
    source: `${OPERATOR} AbstractFlinkService.fetchCheckpointInfo`,
  },
  {
    method: 'GET',
    template: '/jobs/:jobid/checkpoints/details/:checkpointid',
    source: `${OPERATOR} AbstractFlinkService.fetchCheckpointStats`,
  },
  {
    method: 'POST',
    template: '/jobs/:jobid/savepoints',
    source: `${OPERATOR} AbstractFlinkService.triggerSavepoint`,
  },
  {
    method: 'GET',
    template: '/jobs/:jobid/savepoints/:triggerid',
    source: `${OPERATOR} AbstractFlinkService.fetchSavepointInfo; RestClusterClient.stopWithSavepoint polls it`,
  },
  {
    method: 'POST',
    template: '/jobs/:jobid/stop',
    source: `${OPERATOR} AbstractFlinkService.savepointJobOrError (stopWithSavepoint)`,
  },
  { method: 'GET', template: '/jobs/:jobid/metrics', source: `${OPERATOR} AbstractFlinkService.getMetrics` },
  {
    method: 'GET',
    template: '/jobs/:jobid/resource-requirements',
    source: `${OPERATOR} NativeFlinkService.getVertexResources`,
  },
  {
    method: 'PUT',
    template: '/jobs/:jobid/resource-requirements',
    source: `${OPERATOR} NativeFlinkService.updateVertexResources (in-place rescale)`,
  },
  {
    method: 'GET',
    template: '/jobs/:jobid/vertices/:vertexid/subtasks/metrics',
    source: `${AUTOSCALER} RestApiMetricsCollector.queryAggregatedVertexMetrics, ScalingMetricCollector`,
  },
  {
    method: 'GET',
    template: '/jobmanager/metrics',
    source: `${AUTOSCALER} RestApiMetricsCollector.queryJmMetrics`,
  },
  {
    method: 'GET',
    template: '/taskmanagers',
    source: `${OPERATOR} AbstractFlinkService.getTaskManagersInfo`,
  },
  {
    method: 'GET',
    template: '/taskmanagers/metrics',
    source: `${AUTOSCALER} RestApiMetricsCollector.queryAggregatedTmMetrics`,
  },
  {
    method: 'POST',
    template: '/jars/upload',
    source: `${OPERATOR} AbstractFlinkService.uploadJar (bare RestClient)`,
  },
  { method: 'POST', template: '/jars/:jarid/run', source: `${OPERATOR} AbstractFlinkService.runJar` },
  { method: 'DELETE', template: '/jars/:jarid', source: `${OPERATOR} AbstractFlinkService.deleteJar` },
  {
    method: 'POST',
    template: '/savepoint-disposal',
    source: `${OPERATOR} AbstractFlinkService.disposeSavepoint`,
  },
])

/** The calls of each profile, as the route objects `match.ts` returns (a call missing from FLINK_ROUTES throws). */
const PROFILE_ROUTES: Readonly<Record<Profile, ReadonlySet<FlinkRoute>>> = Object.freeze({
  'kubernetes-operator': routesOf(KUBERNETES_OPERATOR_CALLS),
})

function routesOf(calls: readonly ProfileCall[]): ReadonlySet<FlinkRoute> {
  return new Set(
    calls.map((call) => {
      const route = FLINK_ROUTES.find((r) => r.method === call.method && r.template === call.template)
      if (route === undefined)
        throw new Error(`profile call ${call.method} ${call.template} is no Flink route`)
      return route
    }),
  )
}

export function isProfile(value: unknown): value is Profile {
  return typeof value === 'string' && (PROFILES as readonly string[]).includes(value)
}

/** The profiles an identity's roles map to, in `PROFILES` order (the `"*"` entry counting for everyone). */
export function profilesForRoles(
  roles: readonly string[],
  profileMap: ReadonlyMap<string, Profile>,
): readonly Profile[] {
  const found = new Set<Profile>()
  const all = profileMap.get('*')
  if (all !== undefined) found.add(all)
  for (const role of roles) {
    const profile = profileMap.get(role)
    if (profile !== undefined) found.add(profile)
  }
  return PROFILES.filter((profile) => found.has(profile))
}

/** The first of `profiles` whose calls include `route`, or null. */
export function profileAllowing(profiles: readonly Profile[], route: FlinkRoute): Profile | null {
  return profiles.find((profile) => PROFILE_ROUTES[profile].has(route)) ?? null
}
