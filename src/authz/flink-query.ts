/**
 * A query read as Flink reads it, for the checks that judge one (src/arguments/, src/job-scope/). Flink's router
 * parses it with Netty's QueryStringDecoder, which differs from URLSearchParams in ways an attacker can use:
 * it also splits at ";" and ends at "#", it skips only the "?" that ends the path (so in `??jobs=a` it sees a
 * parameter named `?jobs`), it drops a "=" that starts a name (`&=jobs=b` is `jobs=b` there, a nameless
 * parameter here), and it stops reading after 1024 parameters. A query with any of these is refused, so the
 * parameters judged are the ones Flink acts on; a client that needs such a character encodes it.
 */
export type FlinkQuery = { readonly params: URLSearchParams } | { readonly problem: string }

/** Far above any Flink route's few parameters, far below Netty's 1024 cut-off. */
const MAX_PARAMS = 100

export function readFlinkQuery(raw: string | null): FlinkQuery {
  if (raw === null || raw === '') return { params: new URLSearchParams() }
  if (/[;#]/.test(raw)) return { problem: 'the query contains ";" or "#" (encode them as %3B and %23)' }
  if (raw.startsWith('?')) return { problem: 'the query starts with "?" (encode it as %3F)' }
  const pairs = raw.split('&')
  if (pairs.length > MAX_PARAMS) return { problem: `the query has more than ${MAX_PARAMS} parameters` }
  if (pairs.some((pair) => pair.startsWith('=')))
    return { problem: 'a query parameter has no name (it starts with "=")' }
  return { params: new URLSearchParams(raw) }
}
