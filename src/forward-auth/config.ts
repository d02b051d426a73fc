import { type Static, Type } from '@sinclair/typebox'
import { cidrListProblems } from '../authz/networks.js'
import { IdentityHeadersSchema } from '../upstream/config.js'

export const DEFAULT_FORWARD_AUTH_PATH = '/_flink-guard/auth'
export const DEFAULT_EXT_AUTHZ_PREFIX = '/_flink-guard/ext-authz'

export const ForwardAuthConfigSchema = Type.Object(
  {
    enabled: Type.Boolean({
      default: false,
      description:
        "Answer authorization checks of a front proxy (NGINX auth_request, ingress-nginx auth-url, Envoy ext_authz) with flink-guard's decision for the request they describe; the proxy then forwards to Flink itself.",
    }),
    path: Type.String({
      pattern: '^/[A-Za-z0-9._~/-]*[A-Za-z0-9._~-]$',
      default: DEFAULT_FORWARD_AUTH_PATH,
      description:
        'Where NGINX auth_request and ingress-nginx auth-url ask: the described request is X-Original-Method with X-Original-URI (NGINX) or X-Original-URL (ingress-nginx).',
    }),
    extAuthzPrefix: Type.String({
      pattern: '^/[A-Za-z0-9._~/-]*[A-Za-z0-9._~-]$',
      default: DEFAULT_EXT_AUTHZ_PREFIX,
      description:
        "Envoy ext_authz (HTTP service) path_prefix: the check is the client's own method and path behind this prefix.",
    }),
    allowFrom: Type.Array(Type.String({ minLength: 1 }), {
      default: ['127.0.0.0/8', '::1'],
      description:
        'Addresses or CIDRs of the front proxies allowed to ask (the connecting socket, never X-Forwarded-For); any other peer gets 403.',
    }),
    identityHeaders: Type.Object(IdentityHeadersSchema.properties, {
      additionalProperties: false,
      default: {},
      description:
        'Headers of an allowing answer that carry the subject and its roles, encoded as upstream.identityHeaders are; the front proxy copies them to Flink (auth_request_set, authResponseHeaders, allowed_upstream_headers).',
    }),
  },
  {
    additionalProperties: false,
    description:
      'Forward-auth mode: flink-guard as the authorization service of an existing NGINX, ingress-nginx or Envoy (docs/forward-auth.md).',
  },
)

/** What the schema cannot say: peers that are addresses, and paths that cannot shadow each other or a login. */
export function forwardAuthProblems(config: {
  forwardAuth?: Partial<Static<typeof ForwardAuthConfigSchema>>
  auth?: { oidc?: unknown }
  authz?: { arguments?: unknown }
}): string[] {
  const forwardAuth = config.forwardAuth
  if (forwardAuth === undefined || typeof forwardAuth !== 'object' || forwardAuth.enabled !== true) return []
  const problems: string[] = []
  if (Array.isArray(forwardAuth.allowFrom)) {
    problems.push(...cidrListProblems(forwardAuth.allowFrom, 'forwardAuth.allowFrom'))
  }
  const { path, extAuthzPrefix } = forwardAuth
  if (
    typeof path === 'string' &&
    typeof extAuthzPrefix === 'string' &&
    path.startsWith(`${extAuthzPrefix}/`)
  ) {
    problems.push(
      `"forwardAuth.path" (${path}) must not lie under "forwardAuth.extAuthzPrefix" (${extAuthzPrefix})`,
    )
  }
  // The OIDC login redirects a browser and sets cookies on the proxy's origin; behind auth_request or ext_authz
  // that answer never reaches the browser (NGINX turns a 302 into a 500).
  if (config.auth?.oidc !== undefined) {
    problems.push(
      '"forwardAuth" cannot be used with auth.oidc: a front proxy does not pass the login redirect on; use jwt (tokens from your IdP), basic or anonymous there',
    )
  }
  // authz.arguments judges the body of a control action; a check carries none, so it could never be judged.
  if (Array.isArray(config.authz?.arguments) && config.authz.arguments.length > 0) {
    problems.push(
      '"forwardAuth" cannot be used with authz.arguments: a front proxy\'s check carries no body to judge',
    )
  }
  return problems
}
