import { Type } from '@sinclair/typebox'
import { granteeProperties } from '../authz/grantee.js'

/**
 * One grant of what control actions may carry, for the identities it names. With `authz.arguments` set, every
 * savepoint, stop, savepoint disposal and jar run must be covered by a grant of the caller's (src/arguments/).
 */
export const ArgumentGrantSchema = Type.Object(
  {
    ...granteeProperties,
    savepointDirs: Type.Array(Type.String({ minLength: 1, pattern: '/$' }), {
      default: [],
      description:
        "Where a savepoint or stop may write, a run may restore from and a disposal may delete: prefixes ending in '/', compared as written (s3://bucket/team-a/). No target given: Flink's own state.savepoints.dir, always allowed.",
    }),
    entryClasses: Type.Optional(
      Type.Array(Type.String({ minLength: 1 }), {
        description:
          "Entry classes a run may name: exact, or a package with '.*' (com.example.*). Absent: any, and the jar's own.",
      }),
    ),
    maxParallelism: Type.Optional(
      Type.Integer({ minimum: 1, description: 'Highest parallelism a run may ask for (absent: any).' }),
    ),
    allowNonRestoredState: Type.Boolean({
      default: false,
      description: 'Whether a run may skip state of the savepoint it restores (allowNonRestoredState).',
    }),
    flinkConfiguration: Type.Array(Type.String({ minLength: 1 }), {
      default: [],
      description:
        "Keys a run's flinkConfiguration may set (none by default: it can add classpaths or a savepoint path).",
    }),
  },
  { additionalProperties: false },
)

export const ArgumentsConfigSchema = Type.Array(ArgumentGrantSchema, {
  default: [],
  description:
    "Rules on what control actions carry: savepoint and stop directories, a run's entry class, parallelism, restore path and Flink configuration. Empty: not checked. Refusals are 403 FG_ERR_AUTHZ_ARGUMENT_DENIED naming the rule.",
})
