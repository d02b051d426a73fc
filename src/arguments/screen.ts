import type { Readable, Transform } from 'node:stream'
import type { FastifyRequest } from 'fastify'
import type { Identity } from '../auth/identity.js'
import { readFlinkQuery } from '../authz/flink-query.js'
import { FlinkGuardError } from '../errors.js'
import { readBounded } from '../proxy/read-bounded.js'
import { JarUploadScreen, uploadBoundary } from './jar-upload.js'
import { type ArgumentAction, type ArgumentGrant, argumentActionOf, argumentRefusal } from './rules.js'
import { parseStrictJson } from './strict-json.js'

/** Flink's control bodies are a few hundred bytes; a run's flinkConfiguration a few KiB. */
const MAX_ARGUMENT_BODY_BYTES = 64 * 1024

export interface BodyRules {
  /** authz.arguments of the request's cluster. */
  readonly grants: readonly ArgumentGrant[]
  /** limits.uploads.jarFilesOnly. */
  readonly jarFilesOnly: boolean
  /** limits.uploads.allowedSha256; empty when any jar may be uploaded. */
  readonly allowedSha256: readonly string[]
}

/**
 * The body to forward, screened by what it carries: a jar upload streams through JarUploadScreen, which fails
 * it before a file that is no jar reaches Flink; a control action with ruled arguments is read whole, judged
 * (src/arguments/rules.ts) and forwarded as the bytes judged; every other body streams untouched. A refusal
 * of the arguments is thrown before a byte reaches Flink.
 */
export async function screenRequestBody(
  request: FastifyRequest,
  body: Readable | null,
  rules: BodyRules,
): Promise<Readable | Buffer | null> {
  const template = request.authz?.route?.template
  const digests = rules.allowedSha256
  if (
    (rules.jarFilesOnly || digests.length > 0) &&
    request.method === 'POST' &&
    template === '/jars/upload'
  ) {
    const allowed = digests.length === 0 ? null : new Set(digests)
    const screen = new JarUploadScreen(uploadBoundary(request.headers['content-type']), allowed)
    return body === null ? null : body.pipe(screen as Transform)
  }
  if (rules.grants.length === 0) return body
  const action = argumentActionOf(request.method, template)
  if (action === null) return body
  const bytes =
    body === null
      ? Buffer.alloc(0)
      : await readBounded(
          body,
          MAX_ARGUMENT_BODY_BYTES,
          () =>
            new FlinkGuardError('FG_ERR_REQUEST_BODY_TOO_LARGE', {
              message: `The body of an action with ruled arguments may be at most ${MAX_ARGUMENT_BODY_BYTES} bytes`,
            }),
        )
  const problem = argumentsProblem(
    action,
    bytes,
    request.canonical?.query ?? '',
    request.identity!,
    rules.grants,
  )
  if (problem !== null) {
    if (problem.code === 'FG_ERR_AUTHZ_ARGUMENT_DENIED') {
      // The route and preset allowed it; its arguments did not: the audit line says denied, and why.
      request.authz = { ...request.authz!, allowed: false, denial: 'FG_ERR_AUTHZ_ARGUMENT_DENIED' }
    }
    throw problem
  }
  return bytes.length === 0 ? null : bytes
}

/** Flink's JSON reader decodes invalid UTF-8 its own way (overlong C0 AE is "."): such a body is never judged. */
const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

/**
 * Why the action's body bytes and raw query may not go to Flink, or null when one of the caller's grants
 * covers them: FG_ERR_REQUEST_MALFORMED for what cannot be judged as Flink reads it, else
 * FG_ERR_AUTHZ_ARGUMENT_DENIED naming the rule.
 */
export function argumentsProblem(
  action: ArgumentAction,
  bytes: Buffer,
  rawQuery: string,
  identity: Identity,
  grants: readonly ArgumentGrant[],
): FlinkGuardError | null {
  const malformed = (why: string) =>
    new FlinkGuardError('FG_ERR_REQUEST_MALFORMED', {
      message: `The arguments of this action cannot be judged: ${why}`,
    })
  // Read as Flink's router reads it, or refused (src/authz/flink-query.ts).
  const query = readFlinkQuery(rawQuery)
  if ('problem' in query) return malformed(query.problem)
  let text: string
  try {
    text = STRICT_UTF8.decode(bytes)
  } catch {
    return malformed('the body is not valid UTF-8')
  }
  const parsed = text.trim() === '' ? { value: {} } : parseStrictJson(text)
  if ('problem' in parsed) return malformed(parsed.problem)
  if (typeof parsed.value !== 'object' || parsed.value === null || Array.isArray(parsed.value)) {
    return malformed('the body is not a JSON object')
  }
  const refusal = argumentRefusal(
    action,
    parsed.value as Record<string, unknown>,
    query.params,
    identity,
    grants,
  )
  return refusal === null
    ? null
    : new FlinkGuardError('FG_ERR_AUTHZ_ARGUMENT_DENIED', {
        message: `The arguments of this action are not allowed: ${refusal}`,
      })
}
