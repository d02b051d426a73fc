import type { IncomingMessage } from 'node:http'
import type { Static } from '@sinclair/typebox'
import { compileNetworks } from '../authz/networks.js'
import { FlinkGuardError } from '../errors.js'
import type { ForwardAuthConfigSchema } from './config.js'

/** The methods a described request may have: those the proxy itself serves. */
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'])
/** An absolute URL's request target, taken as sent: `new URL` would resolve dot segments before they are judged. */
const TARGET_OF_URL = /^https?:\/\/([^/?#@]*)(\/[^#]*)?$/i

export interface DescribedRequest {
  readonly method: string
  /** The request target as the client sent it; the pipeline screens it like any other. */
  readonly url: string
  /**
   * The host the client addressed, which picks the cluster: X-Original-URL's authority (ingress-nginx sends the
   * check to the service's own Host), else the check's Host header. Never X-Forwarded-Host: NGINX passes a
   * client's copy on to the check, so with NGINX among authz.trustedProxies it would choose the cluster.
   */
  readonly host: string | null
}

export interface ForwardAuth {
  /**
   * The request a front proxy's check describes, or null when `raw` is no check (an ordinary request). A check
   * from a peer outside `allowFrom`, or one that does not describe exactly one request, is refused.
   */
  describe(raw: IncomingMessage): DescribedRequest | null
  /** Where the answer to an allowed check names the subject and its roles. */
  readonly identityHeaders: { readonly user: string; readonly groups: string }
}

export function compileForwardAuth(config: Static<typeof ForwardAuthConfigSchema>): ForwardAuth {
  const peers = compileNetworks(config.allowFrom)
  const extAuthzPrefix = `${config.extAuthzPrefix}/`
  const isCheck = (url: string) =>
    url === config.path || url.startsWith(`${config.path}?`) || url.startsWith(extAuthzPrefix)
  return {
    identityHeaders: config.identityHeaders,
    describe(raw) {
      const url = raw.url ?? ''
      if (!isCheck(url)) return null
      // The socket's own address: a check is trusted for who sends it, so X-Forwarded-For has no say here.
      if (!peers.contains(raw.socket.remoteAddress ?? '')) {
        throw new FlinkGuardError('FG_ERR_FORWARD_AUTH_PEER_DENIED')
      }
      // Envoy's ext_authz sends the client's own method and path behind its path_prefix.
      if (url.startsWith(extAuthzPrefix)) {
        return {
          method: raw.method ?? '',
          url: url.slice(config.extAuthzPrefix.length),
          host: raw.headers.host ?? null,
        }
      }
      return describedByHeaders(raw)
    },
  }
}

/** NGINX's auth_request (X-Original-URI) and ingress-nginx's auth-url (X-Original-URL, an absolute URL). */
function describedByHeaders(raw: IncomingMessage): DescribedRequest {
  const method = single(raw, 'x-original-method')
  const uri = single(raw, 'x-original-uri')
  const absolute = single(raw, 'x-original-url')
  let fromUrl: string | null = null
  let host = raw.headers.host ?? null
  if (absolute !== null) {
    const match = TARGET_OF_URL.exec(absolute)
    if (match === null) throw malformed('X-Original-URL is not an http(s) URL without user information')
    host = match[1]!
    fromUrl = match[2] ?? '/'
  }
  const url = uri ?? fromUrl
  if (method === null || !METHODS.has(method)) throw malformed('X-Original-Method is missing or not a method')
  if (url === null || !url.startsWith('/')) throw malformed('X-Original-URI is missing or not a path')
  if (uri !== null && fromUrl !== null && uri !== fromUrl) {
    throw malformed('X-Original-URI and X-Original-URL describe different requests')
  }
  return { method, url, host }
}

/** The one value of a header, or null when absent; a repeated one is refused (which copy would Flink see?). */
function single(raw: IncomingMessage, name: string): string | null {
  let value: string | null = null
  for (let i = 0; i < raw.rawHeaders.length; i += 2) {
    if (raw.rawHeaders[i]!.toLowerCase() !== name) continue
    if (value !== null) throw malformed(`${name} is repeated`)
    value = raw.rawHeaders[i + 1]!
  }
  return value
}

function malformed(why: string): FlinkGuardError {
  return new FlinkGuardError('FG_ERR_FORWARD_AUTH_MALFORMED', {
    message: `A forward-auth check must describe one request: ${why}`,
  })
}
