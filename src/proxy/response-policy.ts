import { type Static, Type } from '@sinclair/typebox'
import { ERROR_CODE_HEADER } from '../errors.js'

export const ResponsesConfigSchema = Type.Object(
  {
    cors: Type.Object(
      {
        allowedOrigins: Type.Array(Type.String({ minLength: 1 }), {
          default: [],
          description:
            "Origins (scheme://host[:port]) allowed to call the API from a browser. Flink's own `Access-Control-Allow-Origin: *` is always removed; empty allows no cross-origin caller.",
        }),
        allowCredentials: Type.Boolean({
          default: false,
          description: 'Send Access-Control-Allow-Credentials: true to the allowed origins.',
        }),
        maxAgeSec: Type.Integer({
          minimum: 0,
          maximum: 86_400,
          default: 600,
          description: 'How long browsers may cache a preflight answer.',
        }),
      },
      {
        additionalProperties: false,
        default: {},
        description: "The proxy's CORS policy, replacing Flink's.",
      },
    ),
    hstsMaxAgeSec: Type.Integer({
      minimum: 0,
      default: 31_536_000,
      description: 'Strict-Transport-Security max-age on TLS listeners; 0 sends none.',
    }),
    frameAncestors: Type.Union([Type.Literal('none'), Type.Literal('self')], {
      default: 'none',
      description: 'Who may frame the dashboard (CSP frame-ancestors and X-Frame-Options).',
    }),
    userBanner: Type.Boolean({
      default: true,
      description:
        "Show who is signed in, their role and a sign-out link on Flink's dashboard: flink-guard adds a stylesheet and a script of its own (no inline code) to the page Flink serves at `/`.",
    }),
    redactForNonAdmins: Type.Boolean({
      default: true,
      description:
        "Remove server-side absolute paths and stack traces from Flink's error bodies and /jars/upload answers for everyone below the admin preset.",
    }),
  },
  { additionalProperties: false, default: {}, description: 'Response hardening.' },
)

export type ResponsesConfig = Static<typeof ResponsesConfigSchema>

/** Response fields the proxy owns: Flink's copies are dropped so they cannot override or widen ours. */
export const PROXY_OWNED_RESPONSE = [
  'access-control-allow-origin',
  'access-control-allow-credentials',
  'access-control-allow-methods',
  'access-control-allow-headers',
  'access-control-expose-headers',
  'access-control-max-age',
  'strict-transport-security',
  'x-content-type-options',
  'x-frame-options',
  'content-security-policy',
  'referrer-policy',
  // Only the proxy may say it refused a request (src/errors.ts).
  ERROR_CODE_HEADER,
]

const PREFLIGHT_METHODS = 'GET, HEAD, POST, PUT, PATCH, DELETE'
const PREFLIGHT_HEADERS = 'authorization, content-type, x-request-id'
/** What a cross-origin script may read beyond the CORS-safelisted headers: the request id and our refusal code. */
const EXPOSED_HEADERS = `x-request-id, ${ERROR_CODE_HEADER}`

/** Headers on every response of the public listener, errors included: computed once. */
export function securityHeaders(config: ResponsesConfig, tls: boolean): Record<string, string> {
  const headers: Record<string, string> = {
    'x-content-type-options': 'nosniff',
    'x-frame-options': config.frameAncestors === 'none' ? 'DENY' : 'SAMEORIGIN',
    'content-security-policy': `frame-ancestors ${config.frameAncestors === 'none' ? "'none'" : "'self'"}`,
    'referrer-policy': 'no-referrer',
  }
  if (tls && config.hstsMaxAgeSec > 0)
    headers['strict-transport-security'] = `max-age=${config.hstsMaxAgeSec}`
  return headers
}

export interface CorsPolicy {
  /** Headers for a response to a request from `origin`; empty when the origin is not allowed. */
  responseHeaders(origin: string | undefined): Record<string, string>
  /** Headers answering a preflight from `origin`; empty when not allowed (the browser then refuses). */
  preflightHeaders(origin: string | undefined): Record<string, string>
}

export function corsPolicy(config: ResponsesConfig['cors']): CorsPolicy {
  const allowed = new Set(config.allowedOrigins)
  const base = (origin: string | undefined): Record<string, string> => {
    if (origin === undefined || !allowed.has(origin)) return {}
    const headers: Record<string, string> = {
      'access-control-allow-origin': origin,
      'access-control-expose-headers': EXPOSED_HEADERS,
      vary: 'Origin',
    }
    if (config.allowCredentials) headers['access-control-allow-credentials'] = 'true'
    return headers
  }
  return {
    responseHeaders: base,
    preflightHeaders(origin) {
      const headers = base(origin)
      if (headers['access-control-allow-origin'] === undefined) return headers
      return {
        ...headers,
        'access-control-allow-methods': PREFLIGHT_METHODS,
        'access-control-allow-headers': PREFLIGHT_HEADERS,
        'access-control-max-age': String(config.maxAgeSec),
      }
    },
  }
}

/** A CORS preflight (Fetch §3.2.2): OPTIONS with Origin and Access-Control-Request-Method. It carries no credentials. */
export function isPreflight(method: string, headers: Record<string, unknown>): boolean {
  return (
    method === 'OPTIONS' &&
    headers.origin !== undefined &&
    headers['access-control-request-method'] !== undefined
  )
}
