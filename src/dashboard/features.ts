import type { Identity } from '../auth/identity.js'
import { type CanonicalPath, canonicalize } from '../authz/canonical-path.js'
import { type CompiledPolicy, decide } from '../authz/decide.js'

/**
 * The dashboard shows Submit New Job, Cancel Job and the rescale controls when Flink's `/config` answer says
 * `features: { web-submit, web-cancel, web-rescale }` (Flink's own web.submit.enable, web.cancel.enable,
 * web.rescale.enable). Behind flink-guard, each is also turned off for a caller the action would be refused to,
 * so a viewer is never offered a button that can only fail. A feature Flink has off stays off.
 */
const SAMPLE_JOB = '/jobs/00000000000000000000000000000000'
const FEATURE_CALLS: Readonly<Record<string, readonly (readonly [string, string])[]>> = {
  'web-submit': [
    ['POST', '/jars/upload'],
    ['POST', '/jars/sample.jar/run'],
  ],
  // The 1.20 dashboard cancels with the legacy GET yarn-cancel, newer ones with PATCH ?mode=cancel.
  'web-cancel': [
    ['PATCH', SAMPLE_JOB],
    ['GET', `${SAMPLE_JOB}/yarn-cancel`],
  ],
  'web-rescale': [['PUT', `${SAMPLE_JOB}/resource-requirements`]],
}

const CANONICAL = new Map(
  Object.values(FEATURE_CALLS)
    .flat()
    .map(([, path]) => [path, canonicalize(path) as CanonicalPath]),
)

/** For each feature flag: whether `identity` may make every call behind it under `policy`. */
export function featuresAllowed(
  identity: Identity,
  policy: CompiledPolicy,
): Readonly<Record<string, boolean>> {
  return Object.fromEntries(
    Object.entries(FEATURE_CALLS).map(([feature, calls]) => [
      feature,
      calls.every(([method, path]) => decide(identity, method, CANONICAL.get(path)!, policy).allow),
    ]),
  )
}

/** Flink's `/config` answer with the features the caller may not use turned off; null when it has none. */
export function maskFeatures(body: unknown, allowed: Readonly<Record<string, boolean>>): unknown | null {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return null
  const features = (body as { features?: unknown }).features
  if (features === null || typeof features !== 'object' || Array.isArray(features)) return null
  const masked = Object.fromEntries(
    Object.entries(features).map(([name, on]) => [name, on === true && allowed[name] !== false]),
  )
  return { ...body, features: masked }
}
