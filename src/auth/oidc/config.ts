import { type Static, Type } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import { type JwtConfig, JwtConfigSchema, keySourceUrlProblem } from '../jwt/config.js'

export const DEFAULT_SCOPES = ['openid', 'profile', 'email'] as const
export const DEFAULT_REDIRECT_PATH = '/oauth2/callback'
export const DEFAULT_LOGOUT_PATH = '/oauth2/logout'
export const DEFAULT_SESSION_LIFETIME_SEC = 12 * 3_600
export const DEFAULT_IDP_TIMEOUT_MS = 5_000
/** 256 bits: the secret is the input of HKDF, so anything shorter only looks stronger than it is. */
export const MIN_COOKIE_SECRET_LENGTH = 32

const cookieSecret = Type.String({ minLength: MIN_COOKIE_SECRET_LENGTH })
/** A plain path of one or more segments: no `//`, no dot segments, nothing to percent-encode. */
const proxyPath = (defaultPath: string, description: string) =>
  Type.String({ pattern: '^(/[A-Za-z0-9_~-][A-Za-z0-9._~-]*)+$', default: defaultPath, description })

export const OidcConfigSchema = Type.Object(
  {
    issuer: Type.String({
      minLength: 1,
      description:
        'The OpenID provider: its discovery document is <issuer>/.well-known/openid-configuration (https:, or http: on loopback only).',
    }),
    clientId: Type.String({ minLength: 1, description: 'The client id registered at the provider.' }),
    clientSecret: Type.String({
      minLength: 1,
      description:
        'The client secret (client_secret_basic). Never inline: ${env:OIDC_CLIENT_SECRET} or ${file:/run/secrets/oidc}.',
    }),
    publicUrl: Type.String({
      minLength: 1,
      description:
        "The proxy's public origin as browsers reach it, e.g. https://flink.example.com: the redirect_uri is built from it, and state-changing requests from browsers are checked against it (see Cross-site requests in auth-oidc.md).",
    }),
    scopes: Type.Array(Type.String({ minLength: 1, pattern: '^[\\x21\\x23-\\x5b\\x5d-\\x7e]+$' }), {
      default: [...DEFAULT_SCOPES],
      uniqueItems: true,
      description:
        'Scopes requested at login; "openid" is required. Add offline_access (or what your provider names it) to get refresh tokens.',
    }),
    redirectPath: proxyPath(
      DEFAULT_REDIRECT_PATH,
      'Path of the callback on the proxy; register publicUrl + redirectPath at the provider.',
    ),
    logoutPath: proxyPath(
      DEFAULT_LOGOUT_PATH,
      "Path of the sign-out page (GET, changes nothing) and of logout (a same-origin POST), which ends the session and, when the provider has an end_session_endpoint, signs out there (post_logout_redirect_uri = publicUrl + '/').",
    ),
    cookieSecret: Type.Union([cookieSecret, Type.Array(cookieSecret, { minItems: 1 })], {
      description:
        'Secret(s) of at least 32 characters the session cookie is encrypted with (JWE, A256GCM, keys derived with HKDF-SHA-256). A list rotates: the first encrypts, all decrypt. Every replica needs the same list.',
    }),
    subjectClaim: Type.String({
      minLength: 1,
      default: 'sub',
      description: 'ID token claim (or dotted path) holding the subject.',
    }),
    rolesClaim: Type.Union(
      [Type.String({ minLength: 1 }), Type.Array(Type.String({ minLength: 1 }), { minItems: 1 })],
      {
        default: 'groups',
        description:
          'ID token claim(s) holding the roles, read as auth.jwt.rolesClaim is; when the ID token has none of them, see rolesFromUserinfo.',
      },
    ),
    rolesFromUserinfo: Type.Union([Type.Literal('whenMissing'), Type.Literal('never')], {
      default: 'whenMissing',
      description:
        "whenMissing: an ID token holding none of rolesClaim's claims has its roles read from the provider's userinfo endpoint (with the access token; its sub must be the ID token's), as many providers put groups only there. They are kept in the session cookie, so the provider is asked once per login and refresh. never: such a login has no roles.",
    }),
    sessionLifetimeSec: Type.Integer({
      minimum: 60,
      maximum: 30 * 86_400,
      default: DEFAULT_SESSION_LIFETIME_SEC,
      description:
        "Longest life of a session cookie that holds a refresh token, counted from login or the last refresh. Without a refresh token the session ends when the provider's token does.",
    }),
    caFile: Type.Optional(
      Type.String({
        minLength: 1,
        description: "PEM CA bundle trusted for the provider's endpoints (in addition to the system CAs).",
      }),
    ),
    timeoutMs: Type.Integer({
      minimum: 100,
      maximum: 60_000,
      default: DEFAULT_IDP_TIMEOUT_MS,
      description: 'Time allowed for each request to the provider (discovery, token, refresh, revocation).',
    }),
  },
  {
    additionalProperties: false,
    description:
      'Browser login with OpenID Connect (authorization code + PKCE): the session lives in an encrypted cookie, so replicas share nothing but cookieSecret. Without auth.jwt, bearer tokens are verified against this issuer with audience clientId.',
  },
)

export type OidcConfig = Static<typeof OidcConfigSchema>

/** Checks the schema cannot express, each naming its key under `prefix`. */
export function oidcConfigProblems(config: OidcConfig, prefix = 'auth.oidc'): string[] {
  const problems: string[] = []
  const key = (name: string) => `${prefix}.${name}`
  const issuerProblem = keySourceUrlProblem(config.issuer, key('issuer'))
  if (issuerProblem !== null) problems.push(issuerProblem)
  let publicUrl: URL | null = null
  try {
    publicUrl = new URL(config.publicUrl)
  } catch {
    // reported below
  }
  // Secure cookies and the Origin comparison need an https origin with nothing after it.
  if (
    publicUrl === null ||
    publicUrl.protocol !== 'https:' ||
    publicUrl.origin !== trimSlash(config.publicUrl)
  ) {
    problems.push(
      `"${key('publicUrl')}" must be an https: origin such as https://flink.example.com, got "${config.publicUrl}"`,
    )
  }
  if (!config.scopes.includes('openid')) problems.push(`"${key('scopes')}" must include "openid"`)
  if (config.redirectPath === config.logoutPath) {
    problems.push(`"${key('redirectPath')}" and "${key('logoutPath')}" must differ`)
  }
  return problems
}

const trimSlash = (url: string) => (url.endsWith('/') ? url.slice(0, -1) : url)

/** The public origin, without a trailing slash: `https://flink.example.com`. */
export const publicOriginOf = (config: OidcConfig): string => new URL(config.publicUrl).origin

/**
 * `auth.jwt` when only `auth.oidc` is configured: bearer tokens from the same provider (its ID tokens, or
 * access tokens whose audience is the client) are verified against the issuer's JWKS, audience = clientId.
 */
export function bearerConfigFromOidc(config: OidcConfig): JwtConfig {
  return Value.Default(JwtConfigSchema, {
    issuer: config.issuer,
    audience: config.clientId,
    subjectClaim: config.subjectClaim,
    rolesClaim: config.rolesClaim,
    jwksTimeoutMs: config.timeoutMs,
    ...(config.caFile === undefined ? {} : { caFile: config.caFile }),
  }) as JwtConfig
}
