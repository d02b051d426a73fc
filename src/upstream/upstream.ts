import type { CanonicalPath } from '../authz/canonical-path.js'
import type { CompiledPolicy } from '../authz/decide.js'
import type { CheckResult } from '../observability/health.js'
import type { Forwarder } from '../proxy/forward.js'

/** One Flink the gateway forwards to: its pool and the policy its requests are authorised against. */
export interface Upstream {
  /** `default` (top-level upstream), a cluster's name, or `yarn`: bounded, used as a metric label. */
  readonly name: string
  /** This one Flink, for what is kept about its jobs (src/job-owners/): the name, or `yarn/<applicationId>`. */
  readonly cluster: string
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
      /** Where clients reach this Flink through the gateway: Flink's own addresses are rebased onto it. */
      readonly publicBase: PublicBase
    }
  /**
   * 308: the bare prefix (the dashboard's relative URLs need the page URL to end in `/`). 303: a browser sent
   * to the history server, for an application that has finished.
   */
  | { readonly kind: 'redirect'; readonly status: 303 | 308; readonly location: string }

/**
 * The gateway's address of one Flink, as a client reaches it: the scheme and port are the request's (what
 * the client used), the host the request's own unless `host` names another (a YARN application's host form),
 * then `path`, the prefix (`/clusters/a`, `/proxy/<id>`) or empty.
 */
export interface PublicBase {
  readonly host: string | null
  readonly path: string
}

/** What resolution reads off a request. */
export interface ResolutionInput {
  /** Host name without port, lower case; null without a Host header. */
  readonly hostname: string | null
  readonly canonical: CanonicalPath
  readonly subject: string
  readonly roles: readonly string[]
  /** A browser's top-level page load (a finished application's may be redirected to the history server). */
  readonly navigation: boolean
}

/** A source of upstreams beyond the static ones (YARN discovery); `null` when the request is not its own. */
export interface UpstreamSource {
  resolve(input: ResolutionInput): Promise<Resolution | null>
  readiness(): Promise<CheckResult>
  close(): Promise<void>
  destroy(): Promise<void>
}
