import { readFileSync } from 'node:fs'
import { type ValueError, ValueErrorType } from '@sinclair/typebox/errors'
import { Value } from '@sinclair/typebox/value'
import { parseDocument } from 'yaml'
import { AUTH_METHODS } from '../auth/config.js'
import { jwtConfigProblems } from '../auth/jwt/config.js'
import { oidcConfigProblems } from '../auth/oidc/config.js'
import { compilePolicy } from '../authz/decide.js'
import { cidrListProblems } from '../authz/networks.js'
import { FlinkGuardError } from '../errors.js'
import { forwardAuthProblems } from '../forward-auth/config.js'
import { pinProblems, tlsConfigProblems } from '../tls/config.js'
import { routingProblems, upstreamUrlProblems } from '../upstream/config-checks.js'
import { exposureWarnings } from './exposure.js'
import { applyFlinkConf, readFlinkConf } from './flink-conf.js'
import { inUserKeys } from './origins.js'
import { type ReferenceOptions, resolveReferences } from './references.js'
import { type Config, ConfigSchema, SECRET_KEY_PATTERN } from './schema.js'
import { sharedPortProblems } from './shared-port.js'
import { yamlProblems } from './yaml-problems.js'

/** A config that failed validation; `problems` holds every message, each naming its key path. */
export class ConfigError extends FlinkGuardError {
  readonly problems: readonly string[]

  constructor(source: string, problems: readonly string[]) {
    super('FG_ERR_CONFIG_INVALID', {
      message: `${source}: ${problems.length} problem${problems.length === 1 ? '' : 's'}\n  - ${problems.join('\n  - ')}`,
    })
    this.problems = problems
  }
}

export interface LoadedConfig {
  readonly config: Readonly<Config>
  /** Key paths filled from `${env:…}`/`${file:…}` references, masked when printed. */
  readonly secretPaths: ReadonlySet<string>
  /** Valid but risky settings (Flink's REST endpoint not on loopback): logged at start, fatal for check-config --strict. */
  readonly warnings: readonly string[]
  /** Store keys flinkConf filled → the Flink keys and file they came from (src/config/origins.ts). */
  readonly origins: Readonly<Record<string, string>>
}

export function loadConfigFile(
  file: string,
  env: NodeJS.ProcessEnv = process.env,
  references: ReferenceOptions = {},
): LoadedConfig {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code ?? 'unreadable'
    throw new FlinkGuardError('FG_ERR_CONFIG_UNREADABLE', {
      message: `${file}: cannot read (${reason})`,
      cause: err,
    })
  }
  return parseConfig(text, file, env, references)
}

/** Parses YAML text, then validates it as `validateConfig` does. */
export function parseConfig(
  text: string,
  source: string,
  env: NodeJS.ProcessEnv = process.env,
  references: ReferenceOptions = {},
): LoadedConfig {
  const document = parseDocument(text, { prettyErrors: true, uniqueKeys: true })
  if (document.errors.length > 0) {
    throw new ConfigError(source, yamlProblems(text, document.errors))
  }
  const raw = document.toJS() ?? {}
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ConfigError(source, ['the file must be a YAML mapping of keys (listen:, upstream:, …)'])
  }

  return validateConfig(raw, source, env, references)
}

/** Resolves references, applies defaults and validates a config object, reporting every problem at once. */
export function validateConfig(
  raw: unknown,
  source: string,
  env: NodeJS.ProcessEnv = process.env,
  references: ReferenceOptions = {},
): LoadedConfig {
  const { value: resolved, problems, secretPaths } = resolveReferences(raw, env, references)
  const { value, warnings, origins } = withFlinkConf(resolved, problems)
  // Convert works in place: compare against a copy of what was written.
  const converted = Value.Convert(ConfigSchema, structuredClone(value))
  problems.push(...truncatedNumbers(value, converted, ''))
  const withDefaults = Value.Default(ConfigSchema, converted)
  problems.push(...schemaProblems(withDefaults))
  problems.push(...semanticProblems(withDefaults as Config))
  if (problems.length > 0)
    throw new ConfigError(
      source,
      problems.map((problem) => inUserKeys(problem, origins)),
    )

  warnings.push(...exposureWarnings(withDefaults as Config))
  return { config: deepFreeze(withDefaults as Config), secretPaths, warnings, origins }
}

/** `flinkConf:` fills what flink-guard's own keys leave unset from Flink's configuration (flink-conf.ts). */
function withFlinkConf(
  value: unknown,
  problems: string[],
): { value: unknown; warnings: string[]; origins: Record<string, string> } {
  const path = (value as { flinkConf?: unknown } | null)?.flinkConf
  if (typeof path !== 'string' || path === '') return { value, warnings: [], origins: {} }
  try {
    const merged = applyFlinkConf(value as Record<string, unknown>, readFlinkConf(path))
    return { value: merged.config, warnings: merged.warnings, origins: { ...merged.origins } }
  } catch (err) {
    problems.push(`"flinkConf" ${path} ${(err as Error).message}`)
    return { value, warnings: [], origins: {} }
  }
}

/**
 * Value.Convert turns 5000.5 into 5000 where the schema wants an integer (and "8443" from ${env:} into 8443,
 * which is why it runs): a fraction silently dropped is refused instead, with the key the user wrote.
 */
function truncatedNumbers(before: unknown, after: unknown, key: string): string[] {
  if (typeof after === 'number' && Number.isInteger(after) && before !== after) {
    const written = typeof before === 'string' ? Number(before) : before
    if (typeof written === 'number' && !Number.isInteger(written) && Number.isFinite(written)) {
      return [`"${key}" must be a whole number, got ${JSON.stringify(before)}`]
    }
    return []
  }
  if (before === null || after === null || typeof before !== 'object' || typeof after !== 'object') return []
  return Object.entries(before).flatMap(([name, value]) =>
    truncatedNumbers(
      value,
      (after as Record<string, unknown>)[name],
      Array.isArray(before) ? `${key}[${name}]` : key === '' ? name : `${key}.${name}`,
    ),
  )
}

function schemaProblems(value: unknown): string[] {
  const seen = new Set<string>()
  const problems: string[] = []
  for (const error of Value.Errors(ConfigSchema, value)) {
    const key = dotted(error.path)
    // One message per key: a missing key also fails its type check, and that second message adds nothing.
    if (seen.has(key)) continue
    seen.add(key)
    problems.push(describe(key, error))
  }
  return problems
}

function describe(key: string, error: ValueError): string {
  const got = `, got ${JSON.stringify(error.value)}`
  const schema = error.schema as { minimum?: number; maximum?: number }
  switch (error.type) {
    case ValueErrorType.ObjectAdditionalProperties:
      return `"${key}" is not a known key`
    case ValueErrorType.ObjectRequiredProperty:
      return `"${key}" is required`
    case ValueErrorType.Integer:
      return `"${key}" must be a whole number${got}`
    case ValueErrorType.IntegerMinimum:
      return `"${key}" must be at least ${schema.minimum}${got}`
    case ValueErrorType.IntegerMaximum:
      return `"${key}" must be at most ${schema.maximum}${got}`
    case ValueErrorType.String:
      return `"${key}" must be a string${got}`
    case ValueErrorType.StringMinLength:
      return `"${key}" must not be empty`
    case ValueErrorType.Object:
      return `"${key}" must be a mapping of keys${got}`
    case ValueErrorType.Boolean:
      return `"${key}" must be true or false${got}`
    case ValueErrorType.Array:
      return `"${key}" must be a list${got}`
    case ValueErrorType.Union: {
      const choices = (error.schema as { anyOf?: { const?: unknown }[] }).anyOf ?? []
      if (choices.every((choice) => choice.const !== undefined)) {
        return `"${key}" must be one of ${choices.map((choice) => String(choice.const)).join(', ')}${got}`
      }
      return `"${key}" has an invalid value${got}`
    }
    default:
      return `"${key}" ${error.message.replace(/^Expected/, 'must be')}${got}`
  }
}

/**
 * Checks the schema cannot express. They run even when the schema found problems (every problem is reported
 * at once), so each one first makes sure the values it reads have the right type.
 */
function semanticProblems(config: Config): string[] {
  const problems: string[] = [...upstreamUrlProblems(config.upstream?.url, 'upstream.url')]
  if (problems.length === 0 && typeof config.upstream?.url === 'string') {
    problems.push(...sharedPortProblems(config.listen ?? {}, new URL(config.upstream.url)))
  }
  if (
    typeof config.listen?.port === 'number' &&
    config.listen.port !== 0 &&
    config.listen.port === config.admin.port &&
    config.listen.host === config.admin.host
  ) {
    problems.push(`"admin.port" must differ from "listen.port" (both are ${config.listen.port})`)
  }
  problems.push(
    ...tlsConfigProblems(config.tls),
    ...pinProblems(config.upstream?.tls?.pinnedFingerprints, 'upstream.tls.pinnedFingerprints'),
    ...routingProblems(config),
    ...authProblems(config),
    ...authzProblems(config),
    ...corsProblems(config),
    ...forwardAuthProblems(config),
    ...jobOwnersProblems(config),
  )
  return problems
}

/** `ownJobs` grants read the job owners' store, and each store needs its own key. */
function jobOwnersProblems(config: Config): string[] {
  const problems: string[] = []
  const owners = config.jobOwners
  if (owners?.store === 'file' && owners.file === undefined)
    problems.push('"jobOwners.file" is required with jobOwners.store: file (where the submitters are kept)')
  if (owners?.store === 'redis' && config.redis === undefined)
    problems.push(
      '"jobOwners.store: redis" keeps the submitters in the Redis of "redis": configure redis.url',
    )
  const scopes: [string, unknown][] = [
    ['authz.jobScope', config.authz?.jobScope],
    ...(Array.isArray(config.clusters) ? config.clusters : []).map((cluster, index): [string, unknown] => [
      `clusters[${index}].authz.jobScope`,
      cluster?.authz?.jobScope,
    ]),
  ]
  for (const [key, scope] of scopes) {
    const grants = (scope as { grants?: unknown } | undefined)?.grants
    if (owners !== undefined || !Array.isArray(grants)) continue
    grants.forEach((grant, index) => {
      if ((grant as { ownJobs?: unknown })?.ownJobs === true)
        problems.push(
          `"${key}.grants[${index}].ownJobs" gives callers the jobs they submitted, which only "jobOwners" records: configure jobOwners`,
        )
    })
  }
  return problems
}

function authProblems(config: Config): string[] {
  const auth = config.auth as Partial<Config['auth']> | undefined
  if (auth === undefined || typeof auth !== 'object') return []
  const configured = AUTH_METHODS.filter((method) => (auth as Record<string, unknown>)[method] !== undefined)
  if (configured.length === 0 && auth.anonymous === undefined) {
    return [
      `"auth" configures no authentication method, so every request would be refused: configure one of ${AUTH_METHODS.map((m) => `auth.${m}`).join(', ')}, or let requests without credentials in explicitly with auth.anonymous`,
    ]
  }
  if (auth.mtls !== undefined && (config.tls?.clientAuth ?? 'none') === 'none') {
    return ['"auth.mtls" identifies users by client certificate: set "tls.clientAuth" to request or require']
  }
  const problems: string[] = []
  const jwt = auth.jwt
  if (jwt !== undefined && typeof jwt === 'object' && Array.isArray(jwt.algorithms))
    problems.push(...jwtConfigProblems(jwt))
  const oidc = auth.oidc
  if (oidc !== undefined && typeof oidc === 'object' && Array.isArray(oidc.scopes))
    problems.push(...oidcConfigProblems(oidc))
  return problems
}

function authzProblems(config: Config): string[] {
  const authz = config.authz as Partial<Config['authz']> | undefined
  if (authz === undefined || typeof authz !== 'object') return []
  const problems: string[] = []
  for (const key of ['allowedNetworks', 'trustedProxies'] as const) {
    const entries = authz[key]
    if (Array.isArray(entries)) problems.push(...cidrListProblems(entries, `authz.${key}`))
  }
  if (problems.length === 0 && Array.isArray(authz.rules)) {
    try {
      // Roles and sensLogsFor have schema checks of their own; here only the rules' patterns are new.
      compilePolicy({ roles: {}, rules: authz.rules })
    } catch (err) {
      problems.push((err as Error).message)
    }
  }
  return problems
}

function corsProblems(config: Config): string[] {
  const origins = config.responses?.cors?.allowedOrigins
  if (!Array.isArray(origins)) return []
  const problems: string[] = []
  origins.forEach((origin, index) => {
    let parsed: URL | undefined
    try {
      parsed = new URL(origin)
    } catch {}
    // Browsers send Origin as scheme://host[:port], nothing more; anything else would never match.
    if (parsed === undefined || parsed.origin !== origin) {
      problems.push(
        `"responses.cors.allowedOrigins[${index}]" must be an origin such as https://dashboard.example.com (no path, no trailing slash, no "*"), got "${origin}"`,
      )
    }
  })
  return problems
}

/** TypeBox paths are JSON pointers (`/upstream/url`); people read dotted keys (`upstream.url`). */
function dotted(pointer: string): string {
  return pointer
    .split('/')
    .slice(1)
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((part) => (/^\d+$/.test(part) ? `[${part}]` : part))
    .join('.')
    .replace(/\.\[/g, '[')
}

function deepFreeze<T>(value: T): Readonly<T> {
  if (value !== null && typeof value === 'object') {
    for (const child of Object.values(value)) deepFreeze(child)
    Object.freeze(value)
  }
  return value
}

/** The effective config with every secret masked: values from references and keys named like secrets. */
export function maskedConfig(loaded: LoadedConfig): unknown {
  const mask = (node: unknown, path: string, key: string): unknown => {
    if (loaded.secretPaths.has(path) || (SECRET_KEY_PATTERN.test(key) && typeof node === 'string'))
      return '********'
    if (Array.isArray(node)) return node.map((item, index) => mask(item, `${path}[${index}]`, key))
    if (node !== null && typeof node === 'object') {
      return Object.fromEntries(
        Object.entries(node).map(([childKey, value]) => [
          childKey,
          mask(value, path === '' ? childKey : `${path}.${childKey}`, childKey),
        ]),
      )
    }
    return node
  }
  return mask(loaded.config, '', '')
}
