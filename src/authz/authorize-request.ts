import type { Identity } from '../auth/identity.js'
import { ERRORS, FlinkGuardError } from '../errors.js'
import type { CanonicalPath } from './canonical-path.js'
import { type CompiledPolicy, type DenyCode, decide } from './decide.js'
import { type Preset, presetForRoles } from './presets.js'
import type { Profile } from './profiles.js'
import type { FlinkRoute } from './routes.js'

/** The decision as the rest of the request needs it: the audit line, the redaction choice, the metrics. */
export interface AuthzRecord {
  readonly allowed: boolean
  readonly route: FlinkRoute | null
  readonly params: Readonly<Record<string, string>>
  readonly preset: Preset | null
  /** Index of the allow rule that decided, or null. */
  readonly rule: number | null
  /** The client profile that allowed it, or null. */
  readonly profile: Profile | null
  readonly denial: DenyCode | null
}

const NO_PARAMS: Readonly<Record<string, string>> = Object.freeze({})

/**
 * Glue between the pure decide() and the request: HEAD is authorised as the GET it mirrors (Flink answers
 * HEAD like GET), and a denial becomes the error to answer with.
 */
export function authorizeRequest(
  identity: Identity,
  method: string,
  canonical: CanonicalPath,
  policy: CompiledPolicy,
): { record: AuthzRecord; error: FlinkGuardError | null } {
  const decision = decide(identity, method === 'HEAD' ? 'GET' : method, canonical, policy)
  if (decision.allow) {
    const { route, params, preset, rule, profile } = decision
    return { record: { allowed: true, route, params, preset, rule, profile, denial: null }, error: null }
  }
  return {
    record: {
      allowed: false,
      route: decision.route,
      params: NO_PARAMS,
      preset: presetForRoles(identity.roles, policy.roles),
      rule: null,
      profile: null,
      denial: decision.code,
    },
    // The client sees the registry's message plus the specific reason, which names the route and presets only.
    error: new FlinkGuardError(decision.code, {
      message: `${ERRORS[decision.code].message}: ${decision.reason}`,
    }),
  }
}
