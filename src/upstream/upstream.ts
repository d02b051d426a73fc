import type { CanonicalPath } from '../authz/canonical-path.js'
import type { CompiledPolicy } from '../authz/decide.js'
import type { CheckResult } from '../observability/health.js'
import type { Forwarder } from '../proxy/forward.js'

/** One Flink the gateway forwards to: its pool and the policy its requests are authorised against. */
export interface Upstream {
  /** `default` (top-level upstream), a cluster's name, or `yarn`: bounded, used as a metric label. */
  readonly name: string
  readonly forwarder: Forwarder
  readonly policy: CompiledPolicy
}

export type Resolution =
  | {
      readonly kind: 'upstream'
      readonly upstream: Upstream
      /** The path as this upstream's Flink sees it (the prefix removed). */
      readonly canonical: CanonicalPath
      /**
       * The roles to authorise with on this upstream (YARN: the identity's own plus owner and queue roles);
       * null keeps the identity's.
       */
      readonly roles: readonly string[] | null
    }
  /** The bare prefix: the dashboard's relative URLs need the page URL to end in `/`. */
  | { readonly kind: 'redirect'; readonly location: string }

/** What resolution reads off a request. */
export interface ResolutionInput {
  /** Host name without port, lower case; null without a Host header. */
  readonly hostname: string | null
  readonly canonical: CanonicalPath
  readonly subject: string
  readonly roles: readonly string[]
}

/** A source of upstreams beyond the static ones (YARN discovery); `null` when the request is not its own. */
export interface UpstreamSource {
  resolve(input: ResolutionInput): Promise<Resolution | null>
  readiness(): Promise<CheckResult>
  close(): Promise<void>
  destroy(): Promise<void>
}
