import { Type } from '@sinclair/typebox'
import { BasicConfigSchema } from './basic/config.js'
import { JwtConfigSchema } from './jwt/config.js'
import { OidcConfigSchema } from './oidc/config.js'

/** The authenticators the chain knows, in the default order: the strongest proof of identity first. */
export const AUTH_METHODS = ['mtls', 'jwt', 'oidc', 'basic'] as const

const MtlsConfigSchema = Type.Object(
  {
    subjectFrom: Type.Union(
      [Type.Literal('cn'), Type.Literal('dns'), Type.Literal('email'), Type.Literal('uri')],
      {
        default: 'cn',
        description:
          "Where the subject comes from: the certificate's Common Name, or its first DNS, email or URI subject alternative name.",
      },
    ),
    ouAsRoles: Type.Boolean({
      default: true,
      description: "Use the certificate's Organizational Unit (OU) values as roles.",
    }),
    roles: Type.Record(Type.String(), Type.Array(Type.String({ minLength: 1 })), {
      default: {},
      description: 'Extra roles per certificate subject, e.g. { "flink-cli": [deployers] }.',
    }),
  },
  {
    additionalProperties: false,
    description:
      'Client-certificate identity: a client certificate verified by tls.truststore (and pins) becomes a user. Needs tls.clientAuth request or require.',
  },
)

const AnonymousConfigSchema = Type.Object(
  {
    roles: Type.Array(Type.String({ minLength: 1 }), {
      default: [],
      description: 'Roles of the anonymous identity; map them to a preset in authz.roles.',
    }),
  },
  {
    additionalProperties: false,
    description:
      'Requests that carry no credential at all get the identity "anonymous" with these roles. Off unless set: letting anonymous users in must be said explicitly. A bad credential is still a 401.',
  },
)

export const AuthConfigSchema = Type.Object(
  {
    order: Type.Array(Type.Union(AUTH_METHODS.map((method) => Type.Literal(method))), {
      default: [...AUTH_METHODS],
      uniqueItems: true,
      description:
        'The order in which the configured authenticators look for their credential; the first that finds one decides.',
    }),
    mtls: Type.Optional(MtlsConfigSchema),
    jwt: Type.Optional(JwtConfigSchema),
    oidc: Type.Optional(OidcConfigSchema),
    basic: Type.Optional(BasicConfigSchema),
    anonymous: Type.Optional(AnonymousConfigSchema),
  },
  {
    additionalProperties: false,
    default: {},
    description:
      'Authentication. At least one method must be configured: with none, flink-guard would refuse every request.',
  },
)
