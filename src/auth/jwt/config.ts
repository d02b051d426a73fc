import { type Static, Type } from '@sinclair/typebox'
import { RealmSchema } from '../realm.js'

/** Asymmetric signature algorithms: what an IdP signs with. HS* needs a shared `secret` and is never a default. */
export const ASYMMETRIC_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
] as const
export const HMAC_ALGORITHMS = ['HS256', 'HS384', 'HS512'] as const
export type JwtAlgorithm = (typeof ASYMMETRIC_ALGORITHMS)[number] | (typeof HMAC_ALGORITHMS)[number]

export const DEFAULT_CLOCK_TOLERANCE_SEC = 30
export const DEFAULT_JWKS_REFRESH_INTERVAL_SEC = 300
/** jose's own default: an unknown `kid` may trigger one JWKS fetch per 30 s, so random kids cannot flood the IdP. */
export const DEFAULT_JWKS_REFETCH_COOLDOWN_SEC = 30
export const DEFAULT_JWKS_TIMEOUT_MS = 5_000
export const DEFAULT_TOKEN_CACHE_ENTRIES = 10_000
export const DEFAULT_TOKEN_CACHE_TTL_SEC = 300

const seconds = (defaultSec: number, minimum: number, description: string) =>
  Type.Integer({ minimum, maximum: 86_400, default: defaultSec, description })

export const JwtConfigSchema = Type.Object(
  {
    issuer: Type.Union([Type.String({ minLength: 1 }), Type.Literal(false)], {
      description:
        'The expected "iss" claim, and where OIDC discovery looks (<issuer>/.well-known/openid-configuration) when neither jwksUri nor keyFiles is set. Required; `false` switches the issuer check off explicitly.',
    }),
    audience: Type.Union(
      [
        Type.String({ minLength: 1 }),
        Type.Array(Type.String({ minLength: 1 }), { minItems: 1 }),
        Type.Literal(false),
      ],
      {
        description:
          'The expected "aud" claim (one value, or a list of which the token must name one). Required; `false` switches the audience check off explicitly.',
      },
    ),
    jwksUri: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          "URL of the JWKS (https:, or http: on a loopback address only). Default: the jwks_uri of the issuer's discovery document.",
      }),
    ),
    keyFiles: Type.Optional(
      Type.Array(Type.String({ minLength: 1 }), {
        minItems: 1,
        description:
          'Static verification keys instead of a JWKS URL (air-gapped): PEM public keys or certificates, JWK or JWKS JSON files.',
      }),
    ),
    caFile: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          'PEM CA bundle trusted for the discovery and JWKS fetches (in addition to the system CAs).',
      }),
    ),
    secret: Type.Optional(
      Type.String({
        minLength: 32,
        description:
          'Shared secret for HS256/384/512 tokens (at least 32 characters). Only with `algorithms` listing HS* explicitly.',
      }),
    ),
    algorithms: Type.Array(
      Type.Union([...ASYMMETRIC_ALGORITHMS, ...HMAC_ALGORITHMS].map((alg) => Type.Literal(alg))),
      {
        minItems: 1,
        uniqueItems: true,
        default: [...ASYMMETRIC_ALGORITHMS],
        description: 'Accepted "alg" values. Default: the asymmetric ones. "none" is never accepted.',
      },
    ),
    clockToleranceSec: seconds(
      DEFAULT_CLOCK_TOLERANCE_SEC,
      0,
      'Clock skew allowed when checking "exp" and "nbf".',
    ),
    requiredClaims: Type.Array(Type.String({ minLength: 1 }), {
      default: ['exp'],
      description: 'Claims a token must carry. Default ["exp"]: a token that never expires is refused.',
    }),
    subjectClaim: Type.String({
      minLength: 1,
      default: 'sub',
      description: 'Claim (or dotted path) holding the subject.',
    }),
    rolesClaim: Type.Union(
      [Type.String({ minLength: 1 }), Type.Array(Type.String({ minLength: 1 }), { minItems: 1 })],
      {
        default: 'groups',
        description:
          'Claim(s) holding the roles: a list (`groups`), a dotted path (`realm_access.roles`) or a space-separated string (`scope`). A list of paths merges them.',
      },
    ),
    jwksRefreshIntervalSec: seconds(
      DEFAULT_JWKS_REFRESH_INTERVAL_SEC,
      10,
      'How often the JWKS is fetched again in the background. A failed fetch keeps the keys in use.',
    ),
    jwksRefetchCooldownSec: seconds(
      DEFAULT_JWKS_REFETCH_COOLDOWN_SEC,
      0,
      'A token with an unknown "kid" fetches the JWKS again at most once per this many seconds.',
    ),
    jwksTimeoutMs: Type.Integer({
      minimum: 100,
      maximum: 60_000,
      default: DEFAULT_JWKS_TIMEOUT_MS,
      description: 'Time allowed for a discovery or JWKS fetch.',
    }),
    tokenCache: Type.Object(
      {
        maxEntries: Type.Integer({
          minimum: 0,
          maximum: 1_000_000,
          default: DEFAULT_TOKEN_CACHE_ENTRIES,
          description:
            'Verified tokens remembered (by hash) so repeat requests skip the signature check; 0 disables.',
        }),
        ttlSec: seconds(
          DEFAULT_TOKEN_CACHE_TTL_SEC,
          1,
          'Longest time a verified token is remembered (never past its "exp"; dropped when its key leaves the JWKS).',
        ),
      },
      { additionalProperties: false, default: {}, description: 'Cache of verified tokens.' },
    ),
    realm: RealmSchema,
  },
  { additionalProperties: false, description: 'Bearer JWT authentication (Authorization: Bearer <token>).' },
)

export type JwtConfig = Static<typeof JwtConfigSchema>

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]'])

/** A key source URL must be https:, except on loopback where an http: IdP cannot be intercepted off-host. */
export function keySourceUrlProblem(value: string, key: string): string | null {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    return `"${key}" must be an https: URL, got "${value}"`
  }
  if (url.protocol === 'https:') return null
  if (url.protocol === 'http:' && (LOOPBACK_HOSTS.has(url.hostname) || url.hostname.startsWith('127.')))
    return null
  return `"${key}" must be an https: URL (http: only on a loopback address), got "${value}"`
}

/**
 * Checks the schema cannot express, each message naming its key under `prefix` (the config path the lead
 * composes this schema at). `JwtAuthenticator` runs them too, so a config that skipped them cannot start.
 */
export function jwtConfigProblems(config: JwtConfig, prefix = 'auth.jwt'): string[] {
  const problems: string[] = []
  const key = (name: string) => `${prefix}.${name}`
  if (config.jwksUri !== undefined && config.keyFiles !== undefined) {
    problems.push(`"${key('jwksUri')}" and "${key('keyFiles')}" are exclusive: keys come from one source`)
  }
  if (config.jwksUri === undefined && config.keyFiles === undefined && config.issuer === false) {
    const hmacOnly = config.secret !== undefined && config.algorithms.every((alg) => alg.startsWith('HS'))
    if (!hmacOnly) {
      problems.push(
        `"${key('jwksUri')}", "${key('keyFiles')}" or an "${key('issuer')}" to discover keys from is required`,
      )
    }
  }
  if (config.jwksUri !== undefined) {
    const problem = keySourceUrlProblem(config.jwksUri, key('jwksUri'))
    if (problem !== null) problems.push(problem)
  }
  if (config.jwksUri === undefined && config.keyFiles === undefined && typeof config.issuer === 'string') {
    const problem = keySourceUrlProblem(config.issuer, key('issuer'))
    if (problem !== null) problems.push(`${problem} (keys are discovered from it)`)
  }
  const hmac = config.algorithms.filter((alg) => alg.startsWith('HS'))
  if (hmac.length > 0 && config.secret === undefined) {
    problems.push(`"${key('algorithms')}" lists ${hmac.join(', ')}, which needs "${key('secret')}"`)
  }
  if (config.secret !== undefined && hmac.length === 0) {
    problems.push(`"${key('secret')}" is set but "${key('algorithms')}" lists no HS256/HS384/HS512`)
  }
  return problems
}
