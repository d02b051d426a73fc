import type { IncomingHttpHeaders } from 'node:http'
import type { Identity } from '../auth/identity.js'
import { identityHeaderValues } from './identity-headers.js'
import { PROXY_OWNED_RESPONSE } from './response-policy.js'

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
  readonly identity: Identity | null
}

/** Where identity headers go, when Flink (or a filter in front of it) should know who asked. */
export interface IdentityHeaderNames {
  readonly user: string
  readonly groups: string
}

/**
 * The per-deployment part of the request header policy, built once from the config. Credentials end at the
 * proxy: the client's `Authorization` never reaches Flink, and identity headers are always the proxy's own
 * (inbound copies dropped, set only when configured).
 */
export interface RequestHeaderPolicy {
  /** Lower-case names always dropped from the client's request. */
  readonly dropped: ReadonlySet<string>
  readonly identityHeaders: IdentityHeaderNames | null
  /** Removes the proxy's own cookies (the OIDC session) from a Cookie header; undefined when none is left. */
  readonly filterCookie: ((cookie: string) => string | undefined) | null
}

const DEFAULT_IDENTITY_HEADERS: IdentityHeaderNames = {
  user: 'x-forwarded-user',
  groups: 'x-forwarded-groups',
}

export function requestHeaderPolicy(options: {
  identityHeaders: IdentityHeaderNames | null
  filterCookie?: (cookie: string) => string | undefined
}): RequestHeaderPolicy {
  const identityHeaders =
    options.identityHeaders === null
      ? null
      : {
          user: options.identityHeaders.user.toLowerCase(),
          groups: options.identityHeaders.groups.toLowerCase(),
        }
  const dropped = new Set(['authorization', DEFAULT_IDENTITY_HEADERS.user, DEFAULT_IDENTITY_HEADERS.groups])
  if (identityHeaders !== null) dropped.add(identityHeaders.user).add(identityHeaders.groups)
  return { dropped, identityHeaders, filterCookie: options.filterCookie ?? null }
}

type OutgoingHeaders = Record<string, string | string[]>

/**
 * The headers sent to Flink: the client's, less hop-by-hop and proxy-owned ones, plus X-Forwarded-*. Throws
 * FG_ERR_AUTH_IDENTITY_UNSAFE when the identity headers cannot carry the identity's names.
 */
export function upstreamRequestHeaders(
  incoming: IncomingHttpHeaders,
  context: ForwardingContext,
  policy: RequestHeaderPolicy,
): OutgoingHeaders {
  const listed = connectionListed(incoming.connection)
  const headers: OutgoingHeaders = {}
  for (const name in incoming) {
    const value = incoming[name]
    if (value === undefined || HOP_BY_HOP.has(name) || PROXY_OWNED_REQUEST.has(name)) continue
    if (policy.dropped.has(name) || listed?.has(name)) continue
    headers[name] = value
  }
  if (policy.filterCookie !== null && typeof headers.cookie === 'string') {
    const kept = policy.filterCookie(headers.cookie)
    if (kept === undefined) delete headers.cookie
    else headers.cookie = kept
  }
  if (policy.identityHeaders !== null && context.identity !== null) {
    const values = identityHeaderValues(context.identity)
    headers[policy.identityHeaders.user] = values.user
    headers[policy.identityHeaders.groups] = values.groups
  }
  headers['x-forwarded-for'] = context.clientAddress
  headers['x-forwarded-proto'] = context.protocol
  if (context.host !== undefined) headers['x-forwarded-host'] = context.host
  headers['x-request-id'] = context.requestId
  return headers
}

const DROPPED_RESPONSE = new Set([...HOP_BY_HOP, ...PROXY_OWNED_RESPONSE])

/** Text types whose charset Flink leaves out; declared so browsers never sniff another encoding. */
const UNDECLARED_TEXT = /^(?:application\/json|text\/[a-z+.-]+)\s*$/i

/**
 * The headers sent back to the client: Flink's, less hop-by-hop ones and those the proxy owns (CORS and
 * security headers, see response-policy.ts). Without this, Flink's `connection: keep-alive` would override a
 * client's `Connection: close`, and Node would keep a connection the client expects closed (the next request
 * on it then fails); and Flink's `Access-Control-Allow-Origin: *` would open the API to every web page.
 */
export function clientResponseHeaders(upstream: IncomingHttpHeaders): OutgoingHeaders {
  const listed = connectionListed(upstream.connection)
  const headers: OutgoingHeaders = {}
  for (const name in upstream) {
    const value = upstream[name]
    if (value === undefined || DROPPED_RESPONSE.has(name)) continue
    if (listed?.has(name)) continue
    headers[name] = value
  }
  const type = headers['content-type']
  if (typeof type === 'string' && UNDECLARED_TEXT.test(type))
    headers['content-type'] = `${type.trim()}; charset=utf-8`
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
