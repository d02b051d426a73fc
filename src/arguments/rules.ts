import type { Static } from '@sinclair/typebox'
import type { Identity } from '../auth/identity.js'
import { hasControl } from '../proxy/identity-headers.js'
import type { ArgumentGrantSchema } from './config.js'

export type ArgumentGrant = Static<typeof ArgumentGrantSchema>

/** The control actions whose arguments are ruled on, by method and Flink route template. */
const ACTIONS = {
  'POST /jobs/:jobid/savepoints': 'savepoint',
  'POST /jobs/:jobid/stop': 'stop',
  'POST /savepoint-disposal': 'disposal',
  'POST /jars/:jarid/run': 'run',
  'POST /jars/:jarid/run-application': 'run',
} as const
export type ArgumentAction = (typeof ACTIONS)[keyof typeof ACTIONS]

export function argumentActionOf(method: string, template: string | undefined): ArgumentAction | null {
  return ACTIONS[`${method} ${template}` as keyof typeof ACTIONS] ?? null
}

/** What one action carries, from Flink's body fields and, for a run, the query parameters Flink also reads. */
interface Carried {
  /** Paths written, restored from or deleted, each with the field that named it. */
  readonly paths: readonly [field: string, path: string][]
  readonly entryClass: string | null
  readonly parallelism: number | null
  readonly allowNonRestoredState: boolean
  readonly configKeys: readonly string[]
}

type Body = Readonly<Record<string, unknown>>

/** Flink's own key for the restore path inside a run's flinkConfiguration (StateRecoveryOptions.SAVEPOINT_PATH). */
const SAVEPOINT_PATH_KEY = 'execution.savepoint.path'

function carried(action: ArgumentAction, body: Body, query: URLSearchParams): Carried {
  const path = (field: string, value: unknown): [string, string][] =>
    value === undefined || value === null || value === '' ? [] : [[field, String(value)]]
  const none = { entryClass: null, parallelism: null, allowNonRestoredState: false, configKeys: [] }
  if (action === 'savepoint') return { ...none, paths: path('target-directory', body['target-directory']) }
  if (action === 'stop') return { ...none, paths: path('targetDirectory', body.targetDirectory) }
  if (action === 'disposal') return { ...none, paths: path('savepoint-path', body['savepoint-path']) }
  const config = (body.flinkConfiguration ?? {}) as Body
  const entryClass = body.entryClass ?? query.get('entry-class')
  const parallelism = body.parallelism ?? query.get('parallelism')
  const allowNonRestored = body.allowNonRestoredState ?? query.get('allowNonRestoredState')
  return {
    paths: [
      ...path('savepointPath', body.savepointPath),
      ...path('savepointPath (query)', query.get('savepointPath')),
      ...path(`flinkConfiguration.${SAVEPOINT_PATH_KEY}`, config[SAVEPOINT_PATH_KEY]),
    ],
    entryClass: entryClass === undefined || entryClass === null ? null : String(entryClass),
    parallelism: parallelism === undefined || parallelism === null ? null : Number(parallelism),
    allowNonRestoredState: allowNonRestored === true || allowNonRestored === 'true',
    configKeys: Object.keys(config),
  }
}

/**
 * Why `grant` does not cover what the action carries, or null when it does. Paths are compared as written after
 * refusing every spelling Flink's Path would normalise away (`..`, `.`, `//`, `\`, `%`): a prefix check on
 * `s3://b/team-a/../team-b/` would otherwise pass what Flink then writes to team-b.
 */
function uncovered(grant: ArgumentGrant, what: Carried): string | null {
  for (const [field, path] of what.paths) {
    if (ambiguousPath(path)) return `${field} "${path}" is not a plain path (dot segments, "//", "\\" or "%")`
    if (!grant.savepointDirs.some((dir) => path.startsWith(dir))) {
      return `${field} "${path}" is outside the allowed savepoint directories`
    }
  }
  if (what.entryClass !== null && grant.entryClasses !== undefined) {
    const entryClass = what.entryClass
    const allowed = grant.entryClasses.some((pattern) =>
      pattern.endsWith('.*') ? entryClass.startsWith(pattern.slice(0, -1)) : entryClass === pattern,
    )
    if (!allowed) return `entry class "${entryClass}" is not allowed`
  }
  if (what.parallelism !== null && grant.maxParallelism !== undefined) {
    if (!Number.isInteger(what.parallelism) || what.parallelism > grant.maxParallelism) {
      return `parallelism ${what.parallelism} is above ${grant.maxParallelism}`
    }
  }
  if (what.allowNonRestoredState && !grant.allowNonRestoredState)
    return 'allowNonRestoredState is not allowed'
  const extra = what.configKeys.filter(
    (key) => key !== SAVEPOINT_PATH_KEY && !grant.flinkConfiguration.includes(key),
  )
  if (extra.length > 0) return `flinkConfiguration may not set ${extra.join(', ')}`
  return null
}

function ambiguousPath(path: string): boolean {
  const afterScheme = path.replace(/^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/]*/, '')
  return (
    /[\\%]/.test(path) ||
    hasControl(path) ||
    afterScheme.includes('//') ||
    afterScheme.split('/').some((segment) => segment === '.' || segment === '..')
  )
}

const grantsOf = (identity: Identity, grants: readonly ArgumentGrant[]) =>
  grants
    .map((grant, index) => ({ grant, index }))
    .filter(
      ({ grant }) =>
        (grant.roles === undefined && grant.subjects === undefined) ||
        grant.roles?.some((role) => identity.roles.includes(role)) === true ||
        grant.subjects?.includes(identity.subject) === true,
    )

/**
 * Null when one of the caller's grants covers everything the action carries; else the reason, naming the grant
 * that came closest (its index in `authz.arguments`), for the refusal and the audit line.
 */
export function argumentRefusal(
  action: ArgumentAction,
  body: Body,
  query: URLSearchParams,
  identity: Identity,
  grants: readonly ArgumentGrant[],
): string | null {
  const mine = grantsOf(identity, grants)
  if (mine.length === 0) return 'no rule of authz.arguments is yours'
  const what = carried(action, body, query)
  const reasons = mine.map(({ grant, index }) => ({ index, reason: uncovered(grant, what) }))
  if (reasons.some(({ reason }) => reason === null)) return null
  const first = reasons[0]!
  return `authz.arguments[${first.index}]: ${first.reason}`
}
