import type { CanonicalPath } from '../authz/canonical-path.js'
import { matchRoute } from '../authz/match.js'

/** Label values besides Flink's route templates; together a small, fixed set. */
export const ROUTE_LABEL_STATIC = 'static'
export const ROUTE_LABEL_UNKNOWN = 'unknown'
export const ROUTE_LABEL_INVALID = 'invalid'

/**
 * The Flink route a request addresses, as a template (`/jobs/:jobid`) for logs and metric labels:
 * `static` for dashboard files, `unknown` for no Flink route, `invalid` for a path that cannot be read
 * one way only (set by the caller when canonicalize() refuses it) or a bad route parameter.
 */
export function routeLabelOf(method: string, canonical: CanonicalPath): string {
  const match = matchRoute(method === 'HEAD' ? 'GET' : method, canonical.matchPath)
  switch (match.kind) {
    case 'route':
      return match.route.template
    case 'static':
      return ROUTE_LABEL_STATIC
    case 'bad-param':
      return ROUTE_LABEL_INVALID
    case 'unknown':
      return ROUTE_LABEL_UNKNOWN
  }
}
