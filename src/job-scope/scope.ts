import type { Identity } from '../auth/identity.js'
import { holdsGrant } from '../authz/grantee.js'
import type { JobGrant, JobScopeConfig } from './config.js'

/** A job as the scope judges it: Flink's id (lower-case hex) and name. */
export interface JobRef {
  readonly id: string
  readonly name: string
}

/** The jobs one caller may see and act on. */
export interface CallerScope {
  covers(job: JobRef): boolean
  /** A grant of the caller's names every job (`'*'`): what is not one job's (data sets) is theirs too. */
  readonly coversEveryJob: boolean
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
  readonly text: string
}

function compileGrant(grant: JobGrant): CompiledGrant {
  return {
    holds: (identity) => holdsGrant(identity, grant),
    names: grant.names.map(namePattern),
    ids: new Set(grant.ids.map((id) => id.toLowerCase())),
    everyName: grant.names.includes('*'),
    text: [...grant.names, ...grant.ids].join(', '),
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
      return {
        coversEveryJob: held.some((grant) => grant.everyName),
        covers: (job) =>
          held.some((grant) => grant.ids.has(job.id) || grant.names.some((name) => name.test(job.name))),
        description: held.length === 0 ? 'no jobs' : `jobs ${held.map((grant) => grant.text).join('; ')}`,
      }
    },
  })
}
