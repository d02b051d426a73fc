import { type Static, Type } from '@sinclair/typebox'

export const JobOwnersConfigSchema = Type.Optional(
  Type.Object(
    {
      store: Type.Union([Type.Literal('file'), Type.Literal('redis')], {
        default: 'file',
        description:
          'file: one append-only file, shared by the workers of a process group (and by replicas on one shared disk); redis: the Redis of the top-level `redis` key, shared by every replica.',
      }),
      file: Type.Optional(
        Type.String({
          minLength: 1,
          description:
            "With store: file, the file's path (its directory must exist; the file is created 0600). It is flink-guard's: do not edit it while a proxy runs.",
        }),
      ),
    },
    {
      additionalProperties: false,
      description:
        'Who submitted each job started through flink-guard (src/job-owners/), kept across restarts: a job scope grant with ownJobs gives the submitter its jobs. Absent: submitters are not recorded. Takes a restart.',
    },
  ),
)

export type JobOwnersConfig = NonNullable<Static<typeof JobOwnersConfigSchema>>
