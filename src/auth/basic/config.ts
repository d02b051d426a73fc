import { type Static, Type } from '@sinclair/typebox'
import { RealmSchema } from '../realm.js'

export const DEFAULT_BASIC_CACHE_TTL_SEC = 60
export const DEFAULT_MAX_FAILURES_PER_USER = 10
export const DEFAULT_MAX_FAILURES_PER_ADDRESS = 50
export const DEFAULT_THROTTLE_WINDOW_SEC = 300

export const BasicConfigSchema = Type.Object(
  {
    htpasswd: Type.String({
      minLength: 1,
      description:
        'Path of an Apache htpasswd file: bcrypt ($2y$, $2a$, $2b$), $apr1$ or {SHA} hashes. Reloaded when it changes; a bad new file keeps the old one.',
    }),
    users: Type.Record(Type.String({ minLength: 1 }), Type.Array(Type.String({ minLength: 1 })), {
      default: {},
      description: 'Roles of each user, e.g. { alice: [flink-admins] }. A user not listed has no roles.',
    }),
    allowWeakHashes: Type.Boolean({
      default: false,
      description: 'Accept plaintext passwords in the htpasswd file. Never in production.',
    }),
    cacheTtlSec: Type.Integer({
      minimum: 0,
      maximum: 3_600,
      default: DEFAULT_BASIC_CACHE_TTL_SEC,
      description:
        'How long a successful verification is remembered (by an HMAC of user and password, never the password), so repeat requests skip bcrypt. 0 disables.',
    }),
    throttle: Type.Object(
      {
        maxFailuresPerUser: Type.Integer({
          minimum: 1,
          default: DEFAULT_MAX_FAILURES_PER_USER,
          description: 'Failed attempts for one user name within the window before it is refused with 429.',
        }),
        maxFailuresPerAddress: Type.Integer({
          minimum: 1,
          default: DEFAULT_MAX_FAILURES_PER_ADDRESS,
          description:
            'Failed attempts from one client address (IPv6: its /64) within the window before 429.',
        }),
        windowSec: Type.Integer({
          minimum: 1,
          maximum: 86_400,
          default: DEFAULT_THROTTLE_WINDOW_SEC,
          description: 'Window counted from the first failure; the refusal lasts until it ends.',
        }),
      },
      { additionalProperties: false, default: {}, description: 'Brute-force throttling.' },
    ),
    realm: RealmSchema,
  },
  { additionalProperties: false, description: 'HTTP Basic authentication against an htpasswd file.' },
)

export type BasicConfig = Static<typeof BasicConfigSchema>
