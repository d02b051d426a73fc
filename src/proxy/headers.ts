import type { IncomingHttpHeaders } from 'node:http'

/**
 * Header policy at the proxy boundary, in both directions.
 *
 * RFC 9110 §7.6.1: hop-by-hop fields and every field named in `Connection` belong to one connection and
 * are never forwarded. Dropping the Connection-listed names *before* the proxy adds its own headers means
 * a client cannot list `x-forwarded-for` in `Connection` to strip what the proxy sets.
 */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'http2-settings',
  'proxy-authenticate',
  'proxy-authorization',
])

/**
 * Request fields the proxy owns: the client's copies are dropped (never believed) and the proxy sets its own.
 * `expect` is answered by the proxy (100 Continue) and must not reach undici, which refuses it; `host` is
 * the upstream's own (the client's goes out as X-Forwarded-Host).
 */
const PROXY_OWNED_REQUEST = new Set([
  'expect',
  'host',
  'forwarded',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'x-forwarded-port',
  'x-real-ip',
  'x-request-id',
])

export interface ForwardingContext {
  readonly clientAddress: string
  readonly protocol: 'http' | 'https'
  readonly host: string | undefined
  readonly requestId: string
}

type OutgoingHeaders = Record<string, string | string[]>

/** The headers sent to Flink: the client's, less hop-by-hop and proxy-owned ones, plus X-Forwarded-*. */
export function upstreamRequestHeaders(
  incoming: IncomingHttpHeaders,
  context: ForwardingContext,
): OutgoingHeaders {
  const listed = connectionListed(incoming.connection)
  const headers: OutgoingHeaders = {}
  for (const name in incoming) {
    const value = incoming[name]
    if (value === undefined || HOP_BY_HOP.has(name) || PROXY_OWNED_REQUEST.has(name)) continue
    if (listed?.has(name)) continue
    headers[name] = value
  }
  headers['x-forwarded-for'] = context.clientAddress
  headers['x-forwarded-proto'] = context.protocol
  if (context.host !== undefined) headers['x-forwarded-host'] = context.host
  headers['x-request-id'] = context.requestId
  return headers
}

/**
 * The headers sent back to the client: Flink's, less hop-by-hop ones. Without this, Flink's
 * `connection: keep-alive` would override a client's `Connection: close`, and Node would keep a connection
 * the client expects closed (the next request on it then fails).
 */
export function clientResponseHeaders(upstream: IncomingHttpHeaders): OutgoingHeaders {
  const listed = connectionListed(upstream.connection)
  const headers: OutgoingHeaders = {}
  for (const name in upstream) {
    const value = upstream[name]
    if (value === undefined || HOP_BY_HOP.has(name)) continue
    if (listed?.has(name)) continue
    headers[name] = value
  }
  return headers
}

function connectionListed(connection: string | string[] | undefined): Set<string> | undefined {
  if (connection === undefined) return undefined
  const names = new Set<string>()
  for (const line of Array.isArray(connection) ? connection : [connection]) {
    for (const token of line.split(',')) {
      const name = token.trim().toLowerCase()
      if (name !== '') names.add(name)
    }
  }
  return names
}
