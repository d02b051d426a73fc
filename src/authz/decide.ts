import type { ArgumentGrant } from '../arguments/rules.js'
import type { Identity } from '../auth/identity.js'
import { FlinkGuardError } from '../errors.js'
import type { JobScopeConfig } from '../job-scope/config.js'
import { compileJobScope, type JobScopePolicy } from '../job-scope/scope.js'
import type { CanonicalPath } from './canonical-path.js'
import { matchRoute, type RouteMatch } from './match.js'
import {
  isPreset,
  type Preset,
  presetAllows,
  presetForRoles,
  requiredPreset,
  type SensLogsFor,
} from './presets.js'
import { isProfile, type Profile, profileAllowing, profilesForRoles } from './profiles.js'
import type { FlinkRoute } from './routes.js'

/**
 * The authorization decision: a pure function of the identity, the method, the canonical path and the
 * compiled policy (DESIGN.md §2 step 4). Order:
 *
 * 1. Route match on `matchPath`. A route whose parameters fail validation is a 400, whatever the rules say.
 * 2. Rules: a matching `deny` rule denies (deny wins); otherwise a matching `allow` rule allows, also for
 *    routes unknown to flink-guard and above the identity's preset.
 * 3. Unknown routes are denied. Known routes are allowed when the identity's preset reaches the route's
 *    required preset (`presets.ts`), or when one of its profiles lists the route (`profiles.ts`).
 */

export interface AuthzRule {
  readonly effect: 'allow' | 'deny'
  /** HTTP methods, upper case as sent. Absent: every method. */
  readonly methods?: readonly string[]
  /**
   * Matched against the canonical `matchPath` (no `/v1`, no trailing slash), segment by segment: a literal
   * matches itself (case-sensitive), `:name` or `*` any one segment, and a final `**` any number of segments
   * (zero included). A route template such as `/jobs/:jobid/config` is therefore a valid pattern.
   */
  readonly path: string
  /** The identity's effective preset must be one of these (exact membership: list each preset meant). */
  readonly presets?: readonly Preset[]
  /** The identity's subject must be one of these. */
  readonly subjects?: readonly string[]
}

export interface AuthzPolicy {
  /** Identity role or group -> preset; `"*"` applies to every authenticated identity. */
  readonly roles: Readonly<Record<string, Preset>>
  /** Identity role -> built-in client profile (`profiles.ts`); `"*"` applies to every authenticated identity. */
  readonly profiles?: Readonly<Record<string, Profile>>
  readonly rules?: readonly AuthzRule[]
  /** Who may read the SENS log routes; default `admin`. */
  readonly sensLogsFor?: SensLogsFor
  /** What control actions may carry (src/arguments/); empty: not checked. */
  readonly arguments?: readonly ArgumentGrant[]
  /** Which jobs each caller may see and act on (src/job-scope/); absent: every job. */
  readonly jobScope?: JobScopeConfig
}

interface CompiledRule {
  readonly index: number
  readonly effect: 'allow' | 'deny'
  readonly methods: ReadonlySet<string> | null
  /** Pattern segments; `null` stands for a single-segment wildcard. */
  readonly segments: readonly (string | null)[]
  /** The pattern ends in `**`. */
  readonly rest: boolean
  readonly presets: ReadonlySet<Preset> | null
  readonly subjects: ReadonlySet<string> | null
}

export interface CompiledPolicy {
  readonly roles: ReadonlyMap<string, Preset>
  readonly profiles: ReadonlyMap<string, Profile>
  readonly rules: readonly CompiledRule[]
  readonly sensLogsFor: SensLogsFor
  readonly arguments: readonly ArgumentGrant[]
  readonly jobScope: JobScopePolicy | null
}

export type Decision =
  | {
      readonly allow: true
      /** The identity's preset (null when only a rule allowed it). */
      readonly preset: Preset | null
      /** The matched route; `STATIC_UI_ROUTE` for dashboard files; null for an unknown route a rule allowed. */
      readonly route: FlinkRoute | null
      readonly params: Readonly<Record<string, string>>
      /** Index in `authz.rules` of the allow rule that decided, or null when the preset did. */
      readonly rule: number | null
      /** The profile that allowed it, when neither a rule nor the preset did. */
      readonly profile: Profile | null
    }
  | {
      readonly allow: false
      /** 403 (`FG_ERR_AUTHZ_*`) or, for a parameter that fails validation, 400 (`FG_ERR_PATH_PARAM_INVALID`). */
      readonly code: DenyCode
      readonly reason: string
      readonly route: FlinkRoute | null
    }

export type DenyCode =
  | 'FG_ERR_AUTHZ_UNKNOWN_ROUTE'
  | 'FG_ERR_AUTHZ_NO_PRESET'
  | 'FG_ERR_AUTHZ_PRESET_INSUFFICIENT'
  | 'FG_ERR_AUTHZ_RULE_DENIED'
  | 'FG_ERR_AUTHZ_PROFILE_DENIED'
  | 'FG_ERR_AUTHZ_ARGUMENT_DENIED'
  | 'FG_ERR_AUTHZ_JOB_OUT_OF_SCOPE'
  | 'FG_ERR_PATH_PARAM_INVALID'

const METHOD = /^[A-Z]+$/
const EMPTY_PARAMS: Readonly<Record<string, string>> = Object.freeze({})

function invalid(key: string, message: string): FlinkGuardError {
  return new FlinkGuardError('FG_ERR_CONFIG_INVALID', { message: `"${key}" ${message}` })
}

/** Validate and compile a policy once, at start-up. Throws FG_ERR_CONFIG_INVALID naming the key. */
export function compilePolicy(policy: AuthzPolicy): CompiledPolicy {
  const roles = new Map<string, Preset>()
  for (const [role, preset] of Object.entries(policy.roles)) {
    if (!isPreset(preset)) {
      throw invalid(
        `authz.roles.${role}`,
        `must be viewer, operator, deployer or admin, got ${JSON.stringify(preset)}`,
      )
    }
    roles.set(role, preset)
  }
  const profiles = new Map<string, Profile>()
  for (const [role, profile] of Object.entries(policy.profiles ?? {})) {
    if (!isProfile(profile)) {
      throw invalid(`authz.profiles.${role}`, `must be kubernetes-operator, got ${JSON.stringify(profile)}`)
    }
    profiles.set(role, profile)
  }
  const sensLogsFor = policy.sensLogsFor ?? 'admin'
  if (sensLogsFor !== 'admin' && sensLogsFor !== 'operator') {
    throw invalid('authz.sensLogsFor', `must be operator or admin, got ${JSON.stringify(sensLogsFor)}`)
  }
  const rules = (policy.rules ?? []).map((rule, index) => compileRule(rule, index))
  const grants = Object.freeze([...(policy.arguments ?? [])])
  const jobScope = compileJobScope(policy.jobScope)
  return Object.freeze({
    roles,
    profiles,
    rules: Object.freeze(rules),
    sensLogsFor,
    arguments: grants,
    jobScope,
  })
}

function compileRule(rule: AuthzRule, index: number): CompiledRule {
  const key = `authz.rules[${index}]`
  if (rule.effect !== 'allow' && rule.effect !== 'deny') {
    throw invalid(`${key}.effect`, `must be allow or deny, got ${JSON.stringify(rule.effect)}`)
  }
  for (const method of rule.methods ?? []) {
    if (!METHOD.test(method))
      throw invalid(`${key}.methods`, `must be upper-case HTTP methods, got "${method}"`)
  }
  for (const preset of rule.presets ?? []) {
    if (!isPreset(preset)) throw invalid(`${key}.presets`, `must list presets, got ${JSON.stringify(preset)}`)
  }
  const path = rule.path
  if (typeof path !== 'string' || !path.startsWith('/') || (path.length > 1 && path.endsWith('/'))) {
    throw invalid(`${key}.path`, `must start with "/" and not end with "/", got ${JSON.stringify(path)}`)
  }
  const parts = path === '/' ? [] : path.slice(1).split('/')
  let rest = false
  const segments: (string | null)[] = []
  for (const [i, part] of parts.entries()) {
    if (part === '') throw invalid(`${key}.path`, `must not contain an empty segment, got "${path}"`)
    if (part === '**') {
      if (i !== parts.length - 1)
        throw invalid(`${key}.path`, `may use "**" only as the last segment, got "${path}"`)
      rest = true
    } else if (part.includes('*') && part !== '*') {
      throw invalid(`${key}.path`, `may use "*" only as a whole segment, got "${path}"`)
    } else {
      segments.push(part === '*' || part.startsWith(':') ? null : part)
    }
  }
  return {
    index,
    effect: rule.effect,
    methods: rule.methods === undefined ? null : new Set(rule.methods),
    segments,
    rest,
    presets: rule.presets === undefined ? null : new Set(rule.presets),
    subjects: rule.subjects === undefined ? null : new Set(rule.subjects),
  }
}

function patternMatches(rule: CompiledRule, matchPath: string): boolean {
  let start = 1
  for (const segment of rule.segments) {
    if (start > matchPath.length) return false
    let end = matchPath.indexOf('/', start)
    if (end === -1) end = matchPath.length
    if (end === start) return false
    if (segment !== null && (end - start !== segment.length || !matchPath.startsWith(segment, start)))
      return false
    start = end + 1
  }
  // `/` has no segments: start stays 1 and path.length is 1.
  const consumed = start > matchPath.length || (matchPath === '/' && start === 1)
  return consumed || rule.rest
}

function ruleApplies(
  rule: CompiledRule,
  identity: Identity,
  preset: Preset | null,
  method: string,
  matchPath: string,
): boolean {
  if (rule.methods !== null && !rule.methods.has(method)) return false
  if (rule.presets !== null && (preset === null || !rule.presets.has(preset))) return false
  if (rule.subjects !== null && !rule.subjects.has(identity.subject)) return false
  return patternMatches(rule, matchPath)
}

const deny = (code: DenyCode, reason: string, route: FlinkRoute | null): Decision => ({
  allow: false,
  code,
  reason,
  route,
})

/** Decide one request. Pure: the same inputs always give the same decision. */
export function decide(
  identity: Identity,
  method: string,
  canonical: CanonicalPath,
  policy: CompiledPolicy,
): Decision {
  const match: RouteMatch = matchRoute(method, canonical.matchPath)
  if (match.kind === 'bad-param') {
    return deny(
      'FG_ERR_PATH_PARAM_INVALID',
      `path parameter :${match.param} must be ${match.rule.description}`,
      match.route,
    )
  }
  const route = match.route
  const preset = presetForRoles(identity.roles, policy.roles)

  let allowRule: number | null = null
  for (const rule of policy.rules) {
    if (!ruleApplies(rule, identity, preset, method, canonical.matchPath)) continue
    if (rule.effect === 'deny')
      return deny('FG_ERR_AUTHZ_RULE_DENIED', `denied by authz.rules[${rule.index}]`, route)
    allowRule ??= rule.index
  }
  const params = match.kind === 'unknown' ? EMPTY_PARAMS : match.params
  if (allowRule !== null) return { allow: true, preset, route, params, rule: allowRule, profile: null }

  if (route === null) {
    return deny(
      'FG_ERR_AUTHZ_UNKNOWN_ROUTE',
      // The registry's message says the rest ("not known … and no rule allows it"): the reason is the route.
      `${method} ${canonical.path}`,
      null,
    )
  }
  if (preset !== null && presetAllows(preset, route, policy.sensLogsFor)) {
    return { allow: true, preset, route, params, rule: null, profile: null }
  }
  const profiles = profilesForRoles(identity.roles, policy.profiles)
  const profile = profileAllowing(profiles, route)
  if (profile !== null) return { allow: true, preset, route, params, rule: null, profile }
  if (preset === null) {
    if (profiles.length > 0) {
      return deny(
        'FG_ERR_AUTHZ_PROFILE_DENIED',
        `${route.method} ${route.template} is not a call of profile ${profiles.join(', ')}`,
        route,
      )
    }
    return deny(
      'FG_ERR_AUTHZ_NO_PRESET',
      'authz.roles maps none of them to a preset, and authz.profiles none to a profile',
      route,
    )
  }
  const needed = requiredPreset(route, policy.sensLogsFor)
  return deny(
    'FG_ERR_AUTHZ_PRESET_INSUFFICIENT',
    `${route.method} ${route.template} (${route.category}) needs preset ${needed}; yours is ${preset}`,
    route,
  )
}
