import { type Static, Type } from '@sinclair/typebox'

export const AuditConfigSchema = Type.Object(
  {
    followUp: Type.Object(
      {
        enabled: Type.Boolean({
          default: true,
          description:
            "Follow an accepted savepoint, stop, checkpoint, cancel, disposal or jar run to its end (Flink's own status routes) and write a second audit line with what happened: the savepoint's location, the checkpoint id, the job's final state, the failure.",
        }),
        timeoutMs: Type.Integer({
          minimum: 1000,
          default: 1_800_000,
          description: 'How long an action is followed before its outcome is written as "unknown".',
        }),
        intervalMs: Type.Integer({
          minimum: 100,
          default: 1000,
          description: 'The first wait before asking Flink how the action went; it doubles up to 10 s.',
        }),
        maxPending: Type.Integer({
          minimum: 1,
          default: 200,
          description:
            'Actions followed at once; past it an action is not followed (its first line says so).',
        }),
      },
      { additionalProperties: false, default: {}, description: 'Following actions to their outcome.' },
    ),
    webhook: Type.Optional(
      Type.Object(
        {
          url: Type.String({
            pattern: '^https?://',
            description: 'Where every audit line is also POSTed as JSON (one line per request).',
          }),
          headers: Type.Record(Type.String({ minLength: 1 }), Type.String(), {
            default: {},
            description: 'Extra request headers, e.g. an Authorization for the receiver (${env:…} works).',
          }),
          timeoutMs: Type.Integer({
            minimum: 100,
            default: 5000,
            description: 'How long one POST may take.',
          }),
          maxQueued: Type.Integer({
            minimum: 1,
            default: 1000,
            description:
              'Lines waiting for the receiver; past it the oldest is dropped (logged and counted; the log keeps every line).',
          }),
        },
        { additionalProperties: false, description: 'Send audit lines to an HTTP receiver as well.' },
      ),
    ),
  },
  {
    additionalProperties: false,
    default: {},
    description:
      'The audit trail (docs/audit.md): one line per control, submit or cluster action, and its outcome.',
  },
)

export type AuditConfig = Static<typeof AuditConfigSchema>
