import type { IncomingHttpHeaders } from 'node:http'
import { Readable } from 'node:stream'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { isDashboardPage, withBanner } from '../dashboard/banner.js'
import { featuresAllowed, maskFeatures } from '../dashboard/features.js'
import { FlinkGuardError } from '../errors.js'
import { recordSubmitter } from '../job-owners/record-submitter.js'
import { scopedList } from '../job-scope/lists.js'
import { flinkOutcomeOf, isAudited } from '../observability/audit.js'
import { addressFieldOf, publicUrlOf, rebaseAddress } from './flink-addresses.js'
import { redactFlinkBody } from './redact.js'
import type { ResponsesConfig } from './response-policy.js'

/**
 * A few of Flink's answers are read before they go back: error bodies and upload answers for non-admins
 * (redaction), the answers to control, submit and cluster actions (the audit line wants Flink's trigger
 * id; a submission's job gets its submitter recorded, src/job-owners/), the three that carry Flink's own address (flink-addresses.ts: rebased onto the gateway's), and
 * `/config`, whose dashboard features are turned off where the caller would be refused (src/dashboard/features.ts).
 * They are small JSON documents; the one HTML page read is the dashboard's own, which gets the user banner
 * (src/dashboard/banner.ts). Anything else streams untouched.
 */

/** Flink's JSON answers are a few KiB; past this, the body streams on unread (and unredacted: logged). */
const MAX_INSPECTED_BYTES = 1024 * 1024
/** A job list to filter may be larger (tens of thousands of finished jobs); past this it is refused. */
const MAX_JOB_LIST_BYTES = 32 * 1024 * 1024
const JSON_TYPE = /^application\/json\b/i
const UPLOAD_TEMPLATE = '/jars/upload'

export interface Inspection {
  readonly redact: boolean
  readonly audit: boolean
  /** The field carrying Flink's address and the gateway's URL to put there; null when none. */
  readonly rebase: { readonly field: string; readonly publicUrl: string } | null
  /** `/config`: which dashboard features the caller may use; null for every other answer. */
  readonly features: Readonly<Record<string, boolean>> | null
  /** The dashboard's page: the banner's tags go in, nothing else is read. */
  readonly banner: boolean
  /** A job list or count to cut down to the caller's jobs (src/job-scope/): refused when it cannot be read. */
  readonly jobList: FastifyRequest['jobList']
}

const NOTHING: Inspection = Object.freeze({
  redact: false,
  audit: false,
  rebase: null,
  features: null,
  banner: false,
  jobList: null,
})
const BANNER: Inspection = Object.freeze({ ...NOTHING, banner: true })

export function inspectionOf(
  request: FastifyRequest,
  status: number,
  headers: IncomingHttpHeaders,
  responses: Pick<ResponsesConfig, 'redactForNonAdmins' | 'userBanner'>,
): Inspection | null {
  const type = headers['content-type']
  // A job list is always read (never passed on unread); only plain JSON can be cut down (inspectResponse).
  // Flink answers one with 200, uncompressed: anything else in its place that is no error cannot be judged.
  if (request.jobList !== null) {
    if (status === 200 && headers['content-encoding'] === undefined)
      return { ...NOTHING, jobList: request.jobList }
    if (status < 400) throw unfilterable(request.jobList.template)
  }
  if (typeof type !== 'string' || headers['content-encoding'] !== undefined) return null
  if (!JSON_TYPE.test(type))
    return responses.userBanner && status === 200 && isDashboardPage(request, type) ? BANNER : null
  const authz = request.authz
  const audit = isAudited(authz?.route?.category)
  const redact =
    responses.redactForNonAdmins &&
    authz?.preset !== 'admin' &&
    (status >= 400 || authz?.route?.template === UPLOAD_TEMPLATE)
  const rebase = status === 200 ? rebaseOf(request) : null
  const features =
    status === 200 && authz?.route?.template === '/config' && request.upstream !== null
      ? featuresAllowed(request.identity!, request.upstream.policy)
      : null
  return audit || redact || rebase !== null || features !== null
    ? { ...NOTHING, redact, audit, rebase, features }
    : null
}

function rebaseOf(request: FastifyRequest): Inspection['rebase'] {
  const field = addressFieldOf(request.authz?.route?.template)
  const base = request.publicBase
  if (field === null || base === null) return null
  return { field, publicUrl: publicUrlOf(request.protocol, request.host, base) }
}

export async function inspectResponse(
  request: FastifyRequest,
  reply: FastifyReply,
  body: Readable,
  inspection: Inspection,
): Promise<Readable | Buffer | string> {
  const chunks: Buffer[] = []
  let size = 0
  // One iterator throughout: leaving a for-await early would destroy the body we may still need to stream.
  const iterator: AsyncIterator<Buffer> = body[Symbol.asyncIterator]()
  for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
    chunks.push(next.value)
    size += next.value.length
    if (size > MAX_INSPECTED_BYTES) {
      // A job list is cut down or refused, never passed on whole (a dispatcher keeps finished jobs too).
      if (inspection.jobList !== null) {
        if (size <= MAX_JOB_LIST_BYTES) continue
        throw unfilterable(inspection.jobList.template)
      }
      request.log.warn(
        { bytes: size },
        'Flink answer too large to inspect: forwarded without redaction or audit details',
      )
      return Readable.from(resumed(chunks, iterator))
    }
  }
  const text = Buffer.concat(chunks, size)
  if (inspection.jobList !== null && request.method === 'HEAD') {
    reply.removeHeader('content-length')
    return ''
  }
  if (inspection.banner) {
    const page = withBanner(text.toString('utf8'))
    if (page === null) return text
    reply.removeHeader('content-length')
    return page
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(text.toString('utf8'))
  } catch {
    if (inspection.jobList !== null) throw unfilterable(inspection.jobList.template)
    return text
  }
  const { jobList } = inspection
  if (jobList !== null) {
    reply.removeHeader('content-length')
    return JSON.stringify(
      await scopedList(jobList.template, parsed, jobList.scope, jobList.catalog, jobList.owners),
    )
  }
  if (inspection.audit) {
    request.flinkOutcome = flinkOutcomeOf(parsed)
    await recordSubmitter(request, reply, parsed)
  }
  const redacted = inspection.redact ? redactFlinkBody(parsed) : null
  const { rebase } = inspection
  const rebased = rebase === null ? null : rebaseAddress(redacted ?? parsed, rebase.field, rebase.publicUrl)
  const masked = inspection.features === null ? null : maskFeatures(parsed, inspection.features)
  const changed = masked ?? rebased ?? redacted
  if (changed === null) return text
  reply.removeHeader('content-length')
  return JSON.stringify(changed)
}

async function* resumed(head: Buffer[], rest: AsyncIterator<Buffer>): AsyncGenerator<Buffer> {
  yield* head
  for (let next = await rest.next(); !next.done; next = await rest.next()) yield next.value
}

const unfilterable = (template: string) =>
  new FlinkGuardError('FG_ERR_UPSTREAM_BAD_RESPONSE', {
    message: `Flink's ${template} answer is not JSON job scope can filter`,
  })
