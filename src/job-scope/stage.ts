import type { FastifyInstance, FastifyRequest } from 'fastify'
import { changesState } from '../auth/cross-site.js'
import { readFlinkQuery } from '../authz/flink-query.js'
import { ERRORS, FlinkGuardError } from '../errors.js'
import type { ProxyMetrics } from '../observability/metrics.js'
import { catalogOf, JOB_ID, type JobCatalog } from './catalog.js'
import { isListTemplate, type ListTemplate } from './lists.js'
import { coveredIds, type OwnerLookup, ownerLookupFor } from './owner-lookup.js'
import type { CallerScope, JobUse } from './scope.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** A job list or count a job scope cuts down on its way back (src/proxy/inspect-response.ts); else null. */
    jobList: {
      readonly template: ListTemplate
      readonly scope: CallerScope
      readonly catalog: JobCatalog
      readonly owners: OwnerLookup
    } | null
  }
}

/**
 * The job-scope stage (app.ts step 4b), after authorization: the preset has allowed the action, and here the
 * job it addresses must be one of the caller's (`authz.jobScope`). A route naming a job (`:jobid`, or on 2.x
 * an `:applicationid`, which is its job's id) has the job's name looked up from Flink; `/jobs/metrics` must
 * name its jobs; a list or count is marked for filtering. A route flink-guard does not know, under `/jobs` or
 * `/applications` (a rule allowed it), cannot be judged and is refused.
 */
export function jobScopeStage(scope: FastifyInstance, metrics: ProxyMetrics | null): void {
  scope.decorateRequest('jobList', null)
  scope.addHook('onRequest', async (request) => {
    try {
      await judge(request)
    } catch (err) {
      // The refusal is authorization's: the audit line and the denial metric say so, as for a preset's.
      if (err instanceof FlinkGuardError && err.code === 'FG_ERR_AUTHZ_JOB_OUT_OF_SCOPE') {
        request.authz = { ...request.authz!, allowed: false, denial: err.code }
        metrics?.recordDenial(request.routeLabel, request.authz.preset)
      }
      throw err
    }
  })
}

async function judge(request: FastifyRequest): Promise<void> {
  const policy = request.upstream!.policy.jobScope
  if (policy === null) return
  const caller = policy.scopeOf(request.identity!)
  const catalog = catalogOf(request.upstream!.forwarder.pool)
  const owners = ownerLookupFor(request, caller)
  const route = request.authz!.route
  const template = route?.template
  if (isListTemplate(template) && request.method !== 'POST') {
    // A front proxy forwards Flink's answer itself: flink-guard cannot cut it down, so it is not allowed.
    if (request.forwardAuthCheck)
      throw outOfScope(`${template} cannot be filtered in forward-auth mode`, caller)
    request.jobList = { template, scope: caller, catalog, owners }
    return
  }
  // A view grant lets one read a job; what changes state or runs user code (any write, an acting GET such as
  // yarn-cancel or a flame graph's sampling) operates on it, as the cross-site rule reads it.
  const use: JobUse = changesState(request.method, request.canonical!.matchPath) ? 'operate' : 'view'
  // Cluster data sets (2.x) are produced by jobs and deleted for all of them: only for a caller with every job.
  if (template?.startsWith('/datasets') === true && !caller.coversEveryJob(use))
    throw outOfScope('data sets belong to every job on the cluster', caller)
  for (const id of addressedJobs(request)) {
    const jobId = id.toLowerCase()
    const job = await catalog.job(jobId, policy.cacheMs)
    // An unknown id and another team's job get the same answer: the refusal says nothing of which it was.
    if (job === null || !(await coveredIds(caller, [job], use, owners)).has(jobId))
      throw outOfScope(`job ${jobId} is not one of yours${use === 'operate' ? ' to act on' : ''}`, caller)
    // The audit line names the job (src/observability/audit-trail.ts).
    request.jobName = job.name
  }
}

/** The job ids a request acts on or reads; throws for one that cannot be judged. */
function addressedJobs(request: FastifyRequest): readonly string[] {
  const { route, params } = request.authz!
  if (route === null) {
    const path = request.canonical!.matchPath
    if (/^\/(jobs|applications)(\/|$)/.test(path)) {
      throw refusal('a route flink-guard does not know cannot be judged by job')
    }
    return []
  }
  const id = params.jobid ?? params.applicationid
  if (id !== undefined) return [id]
  if (route.template === '/jobs/metrics') return metricsJobs(request.canonical!.query)
  return []
}

/**
 * `/jobs/metrics?jobs=a,b`: Flink aggregates over every job when `jobs` is absent, so under a scope it must
 * be given. Read as Flink's router reads it (src/authz/flink-query.ts), or refused.
 */
function metricsJobs(raw: string | null): readonly string[] {
  const query = readFlinkQuery(raw)
  if ('problem' in query) throw refusal(`/jobs/metrics cannot be judged: ${query.problem}`)
  const ids = query.params.getAll('jobs').flatMap((value) => value.split(','))
  if (ids.length === 0) throw refusal('/jobs/metrics must name its jobs (?jobs=<id>,<id>)')
  for (const id of ids) if (!JOB_ID.test(id)) throw refusal(`"${id.slice(0, 40)}" is not a job id`)
  return ids
}

const refusal = (why: string) =>
  new FlinkGuardError('FG_ERR_AUTHZ_JOB_OUT_OF_SCOPE', {
    message: `${ERRORS.FG_ERR_AUTHZ_JOB_OUT_OF_SCOPE.message}: ${why}`,
  })
const outOfScope = (why: string, caller: CallerScope) => refusal(`${why} (you may see ${caller.description})`)
