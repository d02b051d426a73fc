import { type Static, Type } from '@sinclair/typebox'
import { PresetSchema, RuleSchema } from '../authz/config.js'
import { JobScopeConfigSchema } from '../job-scope/config.js'
import { UpstreamTlsConfigSchema } from '../tls/config.js'

/**
 * Where requests go: one `upstream` (the sidecar and single-gateway shapes), named `clusters` addressed by
 * path prefix or host name, and YARN applications found through the ResourceManager (`yarn`).
 */

export const DEFAULT_CONNECT_TIMEOUT_MS = 5_000
export const DEFAULT_RESPONSE_TIMEOUT_MS = 60_000
/** ResourceManager answers are kept this long: a dashboard's polling must not become RM load. */
export const DEFAULT_YARN_CACHE_MS = 5_000

const milliseconds = (defaultMs: number, description: string) =>
  Type.Integer({ minimum: 1, maximum: 86_400_000, default: defaultMs, description })

const TimeoutsSchema = Type.Object(
  {
    connectMs: milliseconds(DEFAULT_CONNECT_TIMEOUT_MS, 'Time to open a connection to Flink (then 503).'),
    responseMs: milliseconds(
      DEFAULT_RESPONSE_TIMEOUT_MS,
      'Time for Flink to send response headers, and the longest pause within a response body (then 504).',
    ),
  },
  { additionalProperties: false, default: {}, description: 'Upstream timeouts.' },
)

export const IdentityHeadersSchema = Type.Object(
  {
    user: Type.String({ minLength: 1, default: 'X-Forwarded-User' }),
    groups: Type.String({ minLength: 1, default: 'X-Forwarded-Groups' }),
  },
  {
    additionalProperties: false,
    description:
      "When set, the authenticated subject and its roles are sent to Flink in these headers, each name percent-encoded as UTF-8 where it has a space, a non-ASCII character, `%` or `,` (RFC 3986 §2.1; plain ASCII names are sent as they are), roles joined with `,`: split on `,`, then percent-decode. A name with a control character (CR, LF, …) is refused with 403. Clients' copies are always removed.",
  },
)

export const UpstreamConfigSchema = Type.Object(
  {
    url: Type.String({
      minLength: 1,
      description:
        'Base URL of the Flink REST endpoint, e.g. http://127.0.0.1:8081 (Flink bound to loopback).',
    }),
    timeouts: TimeoutsSchema,
    tls: UpstreamTlsConfigSchema,
    identityHeaders: Type.Optional(IdentityHeadersSchema),
  },
  {
    additionalProperties: false,
    description:
      'The Flink REST endpoint behind the proxy. With `clusters` or `yarn` it is optional: it then serves the requests that address no cluster.',
  },
)

export type UpstreamConfig = Static<typeof UpstreamConfigSchema>

/**
 * The part of `authz` a cluster may set for itself; networks and trusted proxies stay the listener's. No
 * defaults here: a key left out keeps the top-level value.
 */
const ClusterAuthzSchema = Type.Object(
  {
    roles: Type.Optional(
      Type.Record(Type.String({ minLength: 1 }), PresetSchema, {
        description: 'Role or group -> preset on this cluster (replaces authz.roles).',
      }),
    ),
    rules: Type.Optional(
      Type.Array(RuleSchema, { description: 'Rules on this cluster (replace authz.rules).' }),
    ),
    sensLogsFor: Type.Optional(Type.Union([Type.Literal('admin'), Type.Literal('operator')])),
    jobScope: JobScopeConfigSchema,
  },
  {
    additionalProperties: false,
    description:
      "This cluster's role mapping and rules, replacing the top-level authz.roles / authz.rules / authz.sensLogsFor / authz.jobScope for its requests. Absent: the top-level ones apply.",
  },
)

/** DNS label rules, lower case: the name is a path segment and a metric label, never anything to decode. */
export const CLUSTER_NAME_PATTERN = '^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$'

const ClusterSchema = Type.Object(
  {
    name: Type.String({
      pattern: CLUSTER_NAME_PATTERN,
      description:
        'Lower-case letters, digits and "-": the path segment in /clusters/<name>/ and the metric label.',
    }),
    upstream: UpstreamConfigSchema,
    pathPrefix: Type.Boolean({
      default: true,
      description:
        'Serve the cluster under /clusters/<name>/ on every host no cluster claims. False: by host name only.',
    }),
    hosts: Type.Array(Type.String({ minLength: 1 }), {
      default: [],
      description:
        'Host names (no port) that address this cluster alone, e.g. analytics.flink.example.com: the safer form, each dashboard on its own origin. A claimed host serves no other cluster.',
    }),
    authz: Type.Optional(ClusterAuthzSchema),
  },
  { additionalProperties: false },
)

export const ClustersConfigSchema = Type.Array(ClusterSchema, {
  minItems: 1,
  description: 'Many Flinks behind one gateway, each addressed by /clusters/<name>/ and/or by host name.',
})

export type ClusterConfig = Static<typeof ClusterSchema>

const YarnUpstreamSchema = Type.Omit(UpstreamConfigSchema, ['url'], {
  additionalProperties: false,
  default: {},
  description:
    "How the gateway talks to the applications' Flink REST endpoints (timeouts, TLS, identity headers); their addresses come from the ResourceManager.",
})

export const YarnConfigSchema = Type.Object(
  {
    resourceManagers: Type.Array(Type.String({ minLength: 1 }), {
      minItems: 1,
      description:
        "The ResourceManagers' web addresses (yarn.resourcemanager.webapp.address), e.g. http://rm1:8088; with HA every RM, the active one is found and followed.",
    }),
    user: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          'Simple authentication to the RM (hadoop.http.authentication.type: simple): sent as ?user.name=. Absent: no user is sent.',
      }),
    ),
    cacheMs: milliseconds(DEFAULT_YARN_CACHE_MS, 'How long an application lookup is reused.'),
    allowedHosts: Type.Array(Type.String({ minLength: 1 }), {
      minItems: 1,
      description:
        'Hosts the gateway may connect to: exact names or addresses, "*.suffix" for a domain, or CIDRs. An RM answer naming any other host is refused, never connected to.',
    }),
    allowedPorts: Type.Array(Type.String({ pattern: '^[0-9]{1,5}(-[0-9]{1,5})?$' }), {
      minItems: 1,
      description:
        'Ports or ranges ("30000-40000") the applications\' REST endpoints may use (rest.bind-port).',
    }),
    pathPrefix: Type.Boolean({
      default: true,
      description: "Serve applications under /proxy/<applicationId>/, YARN's own proxy path.",
    }),
    hostSuffix: Type.Optional(
      Type.String({
        pattern: '^\\.[a-z0-9.-]+$',
        description:
          'Serve application_<ts>_<n> on the host application-<ts>-<n><hostSuffix>, e.g. ".yarn.flink.example.com": one origin per application.',
      }),
    ),
    historyServerUrl: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          "The URL of Flink's HistoryServer dashboard, e.g. https://flink-history.example.com: a browser's page load of a finished application is redirected there (303) to the job's page when the path names a job (/jobs/<jobid>), else to its list of completed jobs. API clients keep the 404 in Flink's error shape, which names it. Absent: the 404 for everyone.",
      }),
    ),
    upstream: YarnUpstreamSchema,
    authz: Type.Object(
      {
        roles: Type.Record(Type.String({ minLength: 1 }), PresetSchema, {
          default: {},
          description: 'Role -> preset for every application (as authz.roles).',
        }),
        rules: Type.Array(RuleSchema, {
          default: [],
          description: 'Rules on every application (as authz.rules).',
        }),
        owner: Type.Optional(
          Type.Union([PresetSchema], {
            description:
              "The preset of the application's YARN owner (the RM's `user`) on their own application.",
          }),
        ),
        queues: Type.Record(
          Type.String({ minLength: 1 }),
          Type.Record(Type.String({ minLength: 1 }), PresetSchema),
          {
            default: {},
            description:
              "Per YARN queue (the RM's `queue`, e.g. root.analytics): role -> preset on that queue's applications.",
          },
        ),
      },
      {
        additionalProperties: false,
        default: {},
        description:
          'Who may do what on YARN applications. A role on several lines gets the highest preset. Absent: authz.roles applies.',
      },
    ),
  },
  {
    additionalProperties: false,
    description:
      "Flink applications on YARN, found through the ResourceManager's REST API: YARN's web proxy replaced.",
  },
)

export type YarnConfig = Static<typeof YarnConfigSchema>
