import type { Identity } from '../auth/identity.js'
import { holdsGrant } from '../authz/grantee.js'
import type { JobGrant, JobScopeConfig } from './config.js'

/** A job as the scope judges it: Flink's id (lower-case hex) and name. */
export interface JobRef {
  readonly id: string
  readonly name: string
}

/** How a request uses the jobs it names: sees them (lists, details, metrics) or acts on them. */
export type JobUse = 'view' | 'operate'

/** The jobs one caller may see and act on. */
export interface CallerScope {
  /** `owner`: who submitted the job through flink-guard (src/job-owners/); null when nobody is recorded. */
  covers(job: JobRef, use: JobUse, owner: string | null): boolean
  /** A grant of the caller's names every job (`'*'`): what is not one job's (data sets) is theirs too. */
  coversEveryJob(use: JobUse): boolean
  /** A grant of the caller's covers the jobs they submitted: covers() wants each job's owner. */
  readonly readsOwners: boolean
  /** For a refusal: which grants the caller holds, in words (never another team's patterns). */
  readonly description: string
}

export interface JobScopePolicy {
  readonly cacheMs: number
  scopeOf(identity: Identity): CallerScope
}

/** `team-a-*` as an anchored expression: `*` is any run of characters, everything else is literal. */
function namePattern(glob: string): RegExp {
  const literal = glob.split('*').map((part) => part.replace(/[\\^$.|?+()[\]{}]/g, '\\$&'))
  return new RegExp(`^${literal.join('.*')}$`, 's')
}

interface CompiledGrant {
  readonly holds: (identity: Identity) => boolean
  readonly names: readonly RegExp[]
  readonly ids: ReadonlySet<string>
  readonly everyName: boolean
  readonly ownJobs: boolean
  /** A view grant covers a job for seeing it only. */
  readonly operates: boolean
  readonly text: string
}

function compileGrant(grant: JobGrant): CompiledGrant {
  const covered = [...grant.names, ...grant.ids, ...(grant.ownJobs ? ['the jobs you submitted'] : [])]
  return {
    holds: (identity) => holdsGrant(identity, grant),
    names: grant.names.map(namePattern),
    ids: new Set(grant.ids.map((id) => id.toLowerCase())),
    everyName: grant.names.includes('*'),
    ownJobs: grant.ownJobs,
    operates: grant.access === 'operate',
    text: `${covered.join(', ')}${grant.access === 'view' ? ' (to view)' : ''}`,
  }
}

/** The compiled `authz.jobScope`; null when it is not set (every job is every caller's). */
export function compileJobScope(config: JobScopeConfig | undefined): JobScopePolicy | null {
  if (config === undefined) return null
  const grants = config.grants.map(compileGrant)
  return Object.freeze({
    cacheMs: config.cacheMs,
    scopeOf(identity: Identity): CallerScope {
      const held = grants.filter((grant) => grant.holds(identity))
      // Every anonymous caller is one subject: none of them owns what any submitted.
      const anonymous = identity.method === 'anonymous'
      const usable = (use: JobUse) => (use === 'view' ? held : held.filter((grant) => grant.operates))
      return {
        coversEveryJob: (use) => usable(use).some((grant) => grant.everyName),
        covers: (job, use, owner) =>
          usable(use).some(
            (grant) =>
              grant.ids.has(job.id) ||
              grant.names.some((name) => name.test(job.name)) ||
              (grant.ownJobs && owner !== null && owner === identity.subject && !anonymous),
          ),
        readsOwners: held.some((grant) => grant.ownJobs),
        description: held.length === 0 ? 'no jobs' : `jobs ${held.map((grant) => grant.text).join('; ')}`,
      }
    },
  })
}
