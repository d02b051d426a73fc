import type { Static } from '@sinclair/typebox'
import type { Identity } from '../auth/identity.js'
import { holdsGrant } from '../authz/grantee.js'
import { javaTrim } from '../config/flink-conf-file.js'
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
  // JarPlanHandler builds the same PackagedProgram as a run (entry class, arguments, flinkConfiguration with
  // pipeline.classpaths) and invokes its main() in the JobManager: a plan is judged as a run, the GET too.
  'POST /jars/:jarid/plan': 'run',
  'GET /jars/:jarid/plan': 'run',
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

/**
 * Flink's keys for the restore path inside a run's flinkConfiguration: StateRecoveryOptions.SAVEPOINT_PATH and
 * its deprecated alias (1.20 and 2.x alike). Either restores, so both are judged as paths.
 */
const SAVEPOINT_PATH_KEYS = ['execution.state-recovery.path', 'execution.savepoint.path'] as const
/** StateRecoveryOptions.SAVEPOINT_IGNORE_UNCLAIMED_STATE and its alias: Flink's default for allowNonRestoredState. */
const IGNORE_UNCLAIMED_KEYS = [
  'execution.state-recovery.ignore-unclaimed-state',
  'execution.savepoint.ignore-unclaimed-state',
] as const
/** CoreOptions.DEFAULT_PARALLELISM: Flink's default for a run's parallelism. */
const DEFAULT_PARALLELISM_KEY = 'parallelism.default'

/**
 * A body field as Flink's Jackson reads it for an Integer or Boolean: absent, null, "" and blank strings all
 * come out null (its empty-string coercion), and Flink then falls back to the query parameter
 * (HandlerRequestUtils.fromRequestBodyOrQueryParameter). For a String field (emptyToNull) only "" does.
 */
const absentScalar = (value: unknown) =>
  value === undefined || value === null || (typeof value === 'string' && javaTrim(value) === '')
const absentString = (value: unknown) => value === undefined || value === null || value === ''

/**
 * The parallelism Flink runs with: the body's, else the query's, else flinkConfiguration's parallelism.default
 * (JarHandlerUtils.JarHandlerContext.fromRequest). NaN for anything Flink would not read as a plain integer.
 */
function parallelismOf(body: Body, query: URLSearchParams, config: Body): number | null {
  const chosen = !absentScalar(body.parallelism)
    ? body.parallelism
    : (query.get('parallelism') ?? config[DEFAULT_PARALLELISM_KEY])
  if (chosen === undefined || chosen === null) return null
  if (typeof chosen === 'number') return chosen
  const text = typeof chosen === 'string' ? javaTrim(chosen) : ''
  return /^[+-]?[0-9]+$/.test(text) ? Number(text) : Number.NaN
}

/**
 * Whether a run may skip state: the body's, else the query's, else flinkConfiguration's default. Flink reads
 * TRUE, "True" and 1 as true (Boolean.valueOf on the query, Jackson's coercion in the body), so anything but
 * an exact false (or absence) counts as true.
 */
function allowsNonRestoredState(body: Body, query: URLSearchParams, config: Body): boolean {
  const configured = IGNORE_UNCLAIMED_KEYS.map((key) => config[key]).find((value) => value !== undefined)
  const chosen = !absentScalar(body.allowNonRestoredState)
    ? body.allowNonRestoredState
    : (query.get('allowNonRestoredState') ?? configured)
  return !(chosen === undefined || chosen === null || chosen === false || chosen === 'false')
}

function carried(action: ArgumentAction, body: Body, query: URLSearchParams): Carried {
  const path = (field: string, value: unknown): [string, string][] =>
    value === undefined || value === null || value === '' ? [] : [[field, String(value)]]
  const none = { entryClass: null, parallelism: null, allowNonRestoredState: false, configKeys: [] }
  if (action === 'savepoint') return { ...none, paths: path('target-directory', body['target-directory']) }
  if (action === 'stop') return { ...none, paths: path('targetDirectory', body.targetDirectory) }
  if (action === 'disposal') return { ...none, paths: path('savepoint-path', body['savepoint-path']) }
  const config = (body.flinkConfiguration ?? {}) as Body
  // emptyToNull on the body's entry class, then on the query's.
  const fromQuery = query.get('entry-class')
  const entryClass = absentString(body.entryClass) ? (fromQuery === '' ? null : fromQuery) : body.entryClass
  return {
    paths: [
      ...path('savepointPath', body.savepointPath),
      ...path('savepointPath (query)', query.get('savepointPath')),
      ...SAVEPOINT_PATH_KEYS.flatMap((key) => path(`flinkConfiguration.${key}`, config[key])),
    ],
    entryClass: entryClass === null ? null : String(entryClass),
    parallelism: parallelismOf(body, query, config),
    allowNonRestoredState: allowsNonRestoredState(body, query, config),
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
    if (!Number.isInteger(what.parallelism)) return 'parallelism is not a plain integer'
    if (what.parallelism > grant.maxParallelism) {
      return `parallelism ${what.parallelism} is above ${grant.maxParallelism}`
    }
  }
  if (what.allowNonRestoredState && !grant.allowNonRestoredState)
    return 'allowNonRestoredState is not allowed'
  const extra = what.configKeys.filter(
    (key) =>
      !(SAVEPOINT_PATH_KEYS as readonly string[]).includes(key) && !grant.flinkConfiguration.includes(key),
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
  grants.map((grant, index) => ({ grant, index })).filter(({ grant }) => holdsGrant(identity, grant))

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
