import { Type } from '@sinclair/typebox'
import { ArgumentsConfigSchema } from '../arguments/config.js'
import { JobScopeConfigSchema } from '../job-scope/config.js'
import { PRESETS } from './presets.js'
import { PROFILES } from './profiles.js'

export const PresetSchema = Type.Union(
  PRESETS.map((preset) => Type.Literal(preset)),
  { description: 'viewer < operator < deployer < admin' },
)

export const RuleSchema = Type.Object(
  {
    effect: Type.Union([Type.Literal('allow'), Type.Literal('deny')]),
    methods: Type.Optional(Type.Array(Type.String({ minLength: 1 }))),
    path: Type.String({
      minLength: 1,
      description:
        'Pattern over the canonical path: literal segments, ":name" or "*" for one, a final "**" for any.',
    }),
    presets: Type.Optional(Type.Array(PresetSchema)),
    subjects: Type.Optional(Type.Array(Type.String({ minLength: 1 }))),
  },
  { additionalProperties: false },
)

export const AuthzConfigSchema = Type.Object(
  {
    roles: Type.Record(Type.String({ minLength: 1 }), PresetSchema, {
      default: {},
      description:
        'Identity role or group -> preset; "*" applies to every authenticated identity. An identity whose roles map to nothing gets 403.',
    }),
    profiles: Type.Record(
      Type.String({ minLength: 1 }),
      Type.Union(PROFILES.map((profile) => Type.Literal(profile))),
      {
        default: {},
        description:
          'Identity role or group -> built-in client profile: exactly the REST calls of that client, nothing more (kubernetes-operator: the Flink Kubernetes Operator and its autoscaler). "*" applies to every authenticated identity.',
      },
    ),
    rules: Type.Array(RuleSchema, {
      default: [],
      description: 'Allow or deny by method, path pattern, preset and subject; a matching deny always wins.',
    }),
    arguments: ArgumentsConfigSchema,
    jobScope: JobScopeConfigSchema,
    sensLogsFor: Type.Union([Type.Literal('admin'), Type.Literal('operator')], {
      default: 'admin',
      description: 'The lowest preset that may read the JobManager and TaskManager log and stdout routes.',
    }),
    allowedNetworks: Type.Array(Type.String({ minLength: 1 }), {
      default: [],
      description:
        "Client networks (CIDR, IPv4 and IPv6) allowed to reach the proxy at all, checked before authentication; empty allows every address. Flink's jobmanager.web.allow-access-address.",
    }),
    trustedProxies: Type.Array(Type.String({ minLength: 1 }), {
      default: [],
      description:
        'Addresses or CIDRs of front proxies whose X-Forwarded-For is believed; empty believes nobody (the connecting address is the client).',
    }),
  },
  { additionalProperties: false, default: {}, description: 'Authorization that understands Flink routes.' },
)
