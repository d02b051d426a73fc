import type { Readable, Transform } from 'node:stream'
import type { FastifyRequest } from 'fastify'
import { FlinkGuardError } from '../errors.js'
import { JarUploadScreen, uploadBoundary } from './jar-upload.js'
import { type ArgumentGrant, argumentActionOf, argumentRefusal } from './rules.js'
import { parseStrictJson } from './strict-json.js'

/** Flink's control bodies are a few hundred bytes; a run's flinkConfiguration a few KiB. */
const MAX_ARGUMENT_BODY_BYTES = 64 * 1024

export interface BodyRules {
  /** authz.arguments of the request's cluster. */
  readonly grants: readonly ArgumentGrant[]
  /** limits.uploads.jarFilesOnly. */
  readonly jarFilesOnly: boolean
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
  if (rules.jarFilesOnly && request.method === 'POST' && template === '/jars/upload') {
    const screen = new JarUploadScreen(uploadBoundary(request.headers['content-type']))
    return body === null ? null : body.pipe(screen as Transform)
  }
  if (rules.grants.length === 0) return body
  const action = argumentActionOf(request.method, template)
  if (action === null) return body
  const bytes = body === null ? Buffer.alloc(0) : await readBounded(body)
  const text = bytes.toString('utf8')
  const parsed = text.trim() === '' ? { value: {} } : parseStrictJson(text)
  if (
    'problem' in parsed ||
    typeof parsed.value !== 'object' ||
    parsed.value === null ||
    Array.isArray(parsed.value)
  ) {
    throw new FlinkGuardError('FG_ERR_REQUEST_MALFORMED', {
      message: `The arguments of this action cannot be judged: ${'problem' in parsed ? parsed.problem : 'the body is not a JSON object'}`,
    })
  }
  const query = new URLSearchParams(request.canonical?.query ?? '')
  const refusal = argumentRefusal(
    action,
    parsed.value as Record<string, unknown>,
    query,
    request.identity!,
    rules.grants,
  )
  if (refusal !== null) {
    // The route and preset allowed it; its arguments did not: the audit line says denied, and why.
    request.authz = { ...request.authz!, allowed: false, denial: 'FG_ERR_AUTHZ_ARGUMENT_DENIED' }
    throw new FlinkGuardError('FG_ERR_AUTHZ_ARGUMENT_DENIED', {
      message: `The arguments of this action are not allowed: ${refusal}`,
    })
  }
  return bytes.length === 0 ? null : bytes
}

async function readBounded(body: Readable): Promise<Buffer> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of body) {
    size += (chunk as Buffer).length
    if (size > MAX_ARGUMENT_BODY_BYTES) {
      throw new FlinkGuardError('FG_ERR_REQUEST_BODY_TOO_LARGE', {
        message: `The body of an action with ruled arguments may be at most ${MAX_ARGUMENT_BODY_BYTES} bytes`,
      })
    }
    chunks.push(chunk as Buffer)
  }
  return Buffer.concat(chunks)
}
