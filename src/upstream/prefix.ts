import { type CanonicalPath, canonicalize } from '../authz/canonical-path.js'
import { FlinkGuardError } from '../errors.js'

/**
 * The cluster prefix (`/clusters/<name>/`, `/proxy/<applicationId>/`), taken off a path that already passed
 * canonical screening as a whole. Screening first is what makes traversal impossible: `/clusters/a/../b/`,
 * `%2e%2e`, `%2f` and `//` never get this far, so the segment after the root is the one every later reader
 * sees. The name is compared raw, undecoded: `/clusters/%61/` names no cluster, it is not `a`.
 */

export type PrefixSplit =
  /** The path does not start with the root segment. */
  | { readonly kind: 'none' }
  /** `/<root>/<name>` without the slash after it (the query, if any, kept in `location`). */
  | { readonly kind: 'bare'; readonly name: string; readonly location: string }
  /** `/<root>/<name>/rest`: `canonical` is the rest, re-screened, as the cluster's Flink sees it. */
  | { readonly kind: 'prefixed'; readonly name: string; readonly canonical: CanonicalPath }

export function splitPrefix(canonical: CanonicalPath, root: string): PrefixSplit {
  // forwardTarget is the raw path (one leading slash, `+` spelled %2B) and the query: what goes to Flink.
  const target = canonical.forwardTarget
  const head = `/${root}/`
  if (!target.startsWith(head)) return { kind: 'none' }
  let end = head.length
  while (end < target.length && target[end] !== '/' && target[end] !== '?') end++
  const name = target.slice(head.length, end)
  // `/clusters/` alone (or `/clusters/?x`): no name; not a prefix either.
  if (name === '') return { kind: 'none' }
  const rest = target.slice(end)
  if (rest === '' || rest.startsWith('?')) {
    return { kind: 'bare', name, location: `${target.slice(0, end)}/${rest}` }
  }
  // A suffix of a screened path starting at a segment boundary screens clean; checked again regardless, so
  // this function never hands on a path canonicalize() did not accept.
  const inner = canonicalize(rest)
  if (!inner.ok) throw new FlinkGuardError(inner.code)
  return { kind: 'prefixed', name, canonical: inner }
}
