import { type Static, Type } from '@sinclair/typebox'
import { granteeProperties } from '../authz/grantee.js'

/** One grant of jobs, for the identities it names (the shape of authz.arguments' grants): by name, id or submitter. */
export const JobGrantSchema = Type.Object(
  {
    ...granteeProperties,
    names: Type.Array(Type.String({ minLength: 1 }), {
      default: [],
      description:
        "Job names the grant covers, exact or with '*' for any run of characters (team-a-*; '*' is every job).",
    }),
    ids: Type.Array(Type.String({ pattern: '^[0-9a-fA-F]{32}$' }), {
      default: [],
      description: 'Job ids the grant covers, whatever the job is named.',
    }),
    ownJobs: Type.Boolean({
      default: false,
      description:
        'The grant also covers the jobs the caller submitted through flink-guard (recorded by jobOwners).',
    }),
    access: Type.Union([Type.Literal('operate'), Type.Literal('view')], {
      default: 'operate',
      description:
        "operate: the caller may see the jobs and act on them (as far as their preset allows); view: only see them (lists, details, metrics), every control, submit or cluster action on them refused. E.g. everyone views '*' and operates ownJobs.",
    }),
  },
  { additionalProperties: false },
)

export const JobScopeConfigSchema = Type.Optional(
  Type.Object(
    {
      grants: Type.Array(JobGrantSchema, {
        minItems: 1,
        description: 'Who may see and act on which jobs.',
      }),
      cacheMs: Type.Integer({
        minimum: 250,
        maximum: 60_000,
        default: 2000,
        description:
          "How long Flink's job list (/jobs/overview, read for job names) is reused; a job id not in it is looked up again at once.",
      }),
    },
    {
      additionalProperties: false,
      description:
        "Job-scoped access on a shared cluster (src/job-scope/): every caller sees and acts only on the jobs one of their grants covers; job lists and counts are filtered to them, every other job's routes are refused. Presets still decide which actions. Absent: every job is every caller's.",
    },
  ),
)

export type JobGrant = Static<typeof JobGrantSchema>
export type JobScopeConfig = NonNullable<Static<typeof JobScopeConfigSchema>>
