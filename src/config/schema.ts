import { type Static, type TSchema, Type } from '@sinclair/typebox'
import { AuthConfigSchema } from '../auth/config.js'
import { AuthzConfigSchema } from '../authz/config.js'
import { ForwardAuthConfigSchema } from '../forward-auth/config.js'
import { JobOwnersConfigSchema } from '../job-owners/config.js'
import { AuditConfigSchema } from '../observability/audit-config.js'
import { ResponsesConfigSchema } from '../proxy/response-policy.js'
import { TlsConfigSchema } from '../tls/config.js'
import { ClustersConfigSchema, UpstreamConfigSchema, YarnConfigSchema } from '../upstream/config.js'

/**
 * The configuration schema: the one source of the config's shape, its defaults and its TypeScript type.
 * Every object rejects unknown keys, so a typo is an error, never a silently ignored setting.
 */

const strictObject = <T extends Parameters<typeof Type.Object>[0]>(properties: T, description: string) =>
  Type.Object(properties, { additionalProperties: false, default: {}, description })

const port = (defaultPort: number, description: string) =>
  Type.Integer({ minimum: 0, maximum: 65_535, default: defaultPort, description })

const milliseconds = (defaultMs: number, description: string) =>
  Type.Integer({ minimum: 1, maximum: 86_400_000, default: defaultMs, description })

export const DEFAULT_LISTEN_PORT = 8443
export const DEFAULT_ADMIN_PORT = 9250
export { DEFAULT_CONNECT_TIMEOUT_MS, DEFAULT_RESPONSE_TIMEOUT_MS } from '../upstream/config.js'
/** Jar uploads of hundreds of MB are normal for Flink; 2 GiB leaves room without being unbounded. */
export const DEFAULT_MAX_BODY_BYTES = 2 * 1024 * 1024 * 1024
export const DEFAULT_SHUTDOWN_GRACE_MS = 30_000
/** Apache's LimitRequestFields; browsers and Flink's CLI send a few dozen at most. */
export const DEFAULT_MAX_HEADER_COUNT = 100
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10_000
/** Below the usual soft limit of 1024 open files, with room for the upstream pool and the admin port. */
export const DEFAULT_MAX_CONNECTIONS = 800
/** A browser opens 6 per origin; a NAT gateway or a CI runner's many CLIs share one address. */
export const DEFAULT_MAX_CONNECTIONS_PER_ADDRESS = 100
/** A CLI with a wrong password, or a dashboard whose session ended, stays far below this. */
export const DEFAULT_FAILED_REQUEST_BURST = 60
export const DEFAULT_FAILED_REQUESTS_PER_MINUTE = 30
export const DEFAULT_RATE_LIMITED_ADDRESSES = 100_000

export const DEFAULT_REDIS_TIMEOUT_MS = 500

export const ConfigSchema = Type.Object(
  {
    workers: Type.Union([Type.Integer({ minimum: 1, maximum: 256 }), Type.Literal('auto')], {
      default: 1,
      description:
        'Proxy processes (node:cluster) sharing the listener: a number, or auto for one per CPU the process may use (os.availableParallelism). 1 is one process, as without the key. With more, a primary process runs the admin listener (one /metrics with every worker, /readyz ready only when every worker is), forwards SIGHUP to every worker, replaces a worker that dies and shares the brute-force budgets between workers (docs/scaling.md).',
    }),
    listen: strictObject(
      {
        host: Type.String({
          minLength: 1,
          default: '127.0.0.1',
          description:
            "Address the proxy listens on. As a sidecar on Flink's own port (Flink on 127.0.0.1), the pod IP, e.g. ${env:POD_IP}: a wildcard there collides with Flink's bind and is refused. 0.0.0.0 only on a port Flink does not use.",
        }),
        port: port(DEFAULT_LISTEN_PORT, 'Port of the proxy listener (0 picks a free port).'),
      },
      'The public listener: the only door to Flink.',
    ),
    tls: Type.Optional(TlsConfigSchema),
    flinkConf: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          "Flink's conf directory or its config.yaml / flink-conf.yaml: upstream.url and upstream.tls from rest.* and security.ssl.rest.*, and tls.* defaults from Flink's REST keystore, security.ssl.algorithms and security.ssl.protocol. Keys set here win.",
      }),
    ),
    upstream: Type.Optional(UpstreamConfigSchema),
    clusters: Type.Optional(ClustersConfigSchema),
    yarn: Type.Optional(YarnConfigSchema),
    limits: strictObject(
      {
        maxBodyBytes: Type.Integer({
          minimum: 0,
          default: DEFAULT_MAX_BODY_BYTES,
          description:
            'Largest request body accepted (413 above it), checked on Content-Length and while streaming.',
        }),
        maxHeaderCount: Type.Integer({
          minimum: 1,
          maximum: 10_000,
          default: DEFAULT_MAX_HEADER_COUNT,
          description: 'Most header fields one request may have (431 above it), whatever their size.',
        }),
        handshakeTimeoutMs: milliseconds(
          DEFAULT_HANDSHAKE_TIMEOUT_MS,
          'A TLS connection that has not completed its handshake in this time is closed (a client that never sends its ClientHello).',
        ),
        maxConnections: Type.Integer({
          minimum: 1,
          default: DEFAULT_MAX_CONNECTIONS,
          description:
            'Open client connections at once; one more is refused (plain HTTP: 503 FG_ERR_REQUEST_TOO_MANY_CONNECTIONS, TLS: closed before the handshake).',
        }),
        uploads: strictObject(
          {
            jarFilesOnly: Type.Boolean({
              default: true,
              description:
                'POST /jars/upload must carry jar files: each file part must start as a ZIP file does (PK\\x03\\x04), checked as the body streams and refused with 415 before that part reaches Flink.',
            }),
            allowedSha256: Type.Array(Type.String({ pattern: '^[0-9a-f]{64}$' }), {
              default: [],
              description:
                'When not empty, every jar uploaded must have one of these SHA-256 digests (lowercase hex, as sha256sum prints them): each file part is hashed as it streams and its end is held back until the digest is checked, so a jar not on the list is refused with 403 FG_ERR_UPLOAD_NOT_ALLOWED before Flink has a whole upload to store. Screens uploads as jarFilesOnly does, whatever that is set to.',
            }),
          },
          'What uploads may carry.',
        ),
        maxConnectionsPerAddress: Type.Integer({
          minimum: 1,
          default: DEFAULT_MAX_CONNECTIONS_PER_ADDRESS,
          description:
            'Open connections from one client address (IPv6: its /64) at once; refused as above. Behind a front proxy, that proxy is one address.',
        }),
        failedRequests: strictObject(
          {
            burst: Type.Integer({
              minimum: 0,
              default: DEFAULT_FAILED_REQUEST_BURST,
              description:
                'Requests refused by authentication (no credential, or a bad one) one client address may make at once before it gets 429 FG_ERR_REQUEST_RATE_LIMITED with Retry-After; 0 turns the limit off.',
            }),
            perMinute: Type.Integer({
              minimum: 1,
              default: DEFAULT_FAILED_REQUESTS_PER_MINUTE,
              description: 'How many of those each address is given back per minute (token bucket).',
            }),
            maxAddresses: Type.Integer({
              minimum: 1,
              default: DEFAULT_RATE_LIMITED_ADDRESSES,
              description:
                'Client addresses tracked at once (memory bound); past it the one charged longest ago is forgotten.',
            }),
          },
          'Per-client-address rate limit of unauthenticated and failed requests. A request that authenticates is never limited, nor charged; the address is the one authz.trustedProxies yields (IPv6: its /64).',
        ),
      },
      'Request limits.',
    ),
    auth: AuthConfigSchema,
    authz: AuthzConfigSchema,
    forwardAuth: Type.Optional(ForwardAuthConfigSchema),
    responses: ResponsesConfigSchema,
    audit: AuditConfigSchema,
    jobOwners: JobOwnersConfigSchema,
    admin: strictObject(
      {
        host: Type.String({
          minLength: 1,
          default: '127.0.0.1',
          description: 'Address of the admin listener.',
        }),
        port: port(
          DEFAULT_ADMIN_PORT,
          'Port of the admin listener: /healthz, /readyz, /readyz/strict and /metrics (0 picks a free port).',
        ),
      },
      'The admin listener, kept apart from the public port.',
    ),
    redis: Type.Optional(
      Type.Object(
        {
          url: Type.String({
            pattern: '^rediss?://',
            description:
              'redis:// or rediss:// URL of one Redis (a standalone server or a Sentinel-managed primary; not Redis Cluster), e.g. redis://:${env:REDIS_PASSWORD}@redis:6379/0.',
          }),
          keyPrefix: Type.String({
            default: 'flink-guard:',
            description:
              'Prefix of every key flink-guard writes, so proxies of different deployments can share a Redis.',
          }),
          failMode: Type.Union([Type.Literal('closed'), Type.Literal('open')], {
            default: 'closed',
            description:
              "While Redis does not answer: closed refuses what the budget would decide (a refused request gets 429, a Basic login cannot be checked and gets 429); open falls back to this process group's own budget. Either way the proxy keeps serving authenticated requests and logs and counts the outage.",
          }),
          timeoutMs: milliseconds(
            DEFAULT_REDIS_TIMEOUT_MS,
            'How long one Redis command may take before it counts as Redis being down.',
          ),
        },
        {
          additionalProperties: false,
          description:
            'Share the brute-force budgets (limits.failedRequests, auth.basic.throttle) between replicas through Redis; without it they are shared between the workers of one process group only.',
        },
      ),
    ),
    metrics: strictObject(
      {
        enabled: Type.Boolean({
          default: true,
          description:
            'Serve Prometheus metrics on the admin listener at /metrics (never on the proxy port).',
        }),
      },
      'Prometheus metrics.',
    ),
    shutdown: strictObject(
      {
        graceMs: milliseconds(
          DEFAULT_SHUTDOWN_GRACE_MS,
          'On SIGTERM/SIGINT, how long in-flight requests may take to finish before connections are closed.',
        ),
      },
      'Graceful shutdown.',
    ),
  },
  { additionalProperties: false },
)

export type Config = Static<typeof ConfigSchema>

/** Keys whose values are secrets wherever they appear: masked when the effective config is printed. */
export const SECRET_KEY_PATTERN = /(password|secret|token|passphrase)$/i

export type { TSchema }
