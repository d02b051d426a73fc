import type { FastifyRequest } from 'fastify'
import { FlinkGuardError } from '../errors.js'
import type { CallerScope, JobRef, JobUse } from './scope.js'

/** The recorded submitters of those of `ids` that have one (src/job-owners/). */
export type OwnerLookup = (ids: readonly string[]) => Promise<ReadonlyMap<string, string>>

const NOBODY: ReadonlyMap<string, string> = new Map()

/**
 * How this request's scope learns who submitted a job: from the job owners' store when one of the caller's
 * grants covers their own jobs, else not at all (no store is asked). A store that cannot be read gets a 503,
 * never a guess either way.
 */
export function ownerLookupFor(request: FastifyRequest, caller: CallerScope): OwnerLookup {
  const store = request.pipeline.jobOwners
  if (!caller.readsOwners || store === null) return async () => NOBODY
  const cluster = request.upstream!.cluster
  return async (ids) => {
    try {
      return await store.ownersOf(cluster, ids)
    } catch (err) {
      request.log.error({ err }, 'the job owners (jobOwners) could not be read')
      throw new FlinkGuardError('FG_ERR_JOB_OWNERS_UNAVAILABLE', { cause: err })
    }
  }
}

/**
 * The ids of those of `jobs` the caller's scope covers for `use`. Whoever submitted a job is asked only for
 * the jobs no name or id grant covers, all of them at once.
 */
export async function coveredIds(
  caller: CallerScope,
  jobs: readonly JobRef[],
  use: JobUse,
  owners: OwnerLookup,
): Promise<ReadonlySet<string>> {
  const covered = new Set<string>()
  const rest: JobRef[] = []
  for (const job of jobs) {
    if (caller.covers(job, use, null)) covered.add(job.id)
    else rest.push(job)
  }
  if (rest.length === 0 || !caller.readsOwners) return covered
  const known = await owners(rest.map((job) => job.id))
  for (const job of rest) if (caller.covers(job, use, known.get(job.id) ?? null)) covered.add(job.id)
  return covered
}
