import { createHash } from 'node:crypto'
import { mkdtempSync } from 'node:fs'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { createServer as createHttpsServer, type ServerOptions as HttpsOptions } from 'node:https'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import * as payloads from './payloads.js'
import { type RecordedRequest, StandinRecord } from './record.js'
import { ClusterState, flinkId, type StandinJob } from './state.js'
import { receiveJarUpload } from './upload.js'

export type { RecordedRequest, RecordedUpload } from './record.js'
export { StandinRecord } from './record.js'
export type { StandinJob } from './state.js'

export interface StandinOptions {
  host?: string
  port?: number
  /** Serve HTTPS, as Flink does with security.ssl.rest.enabled (requestCert for its authentication-enabled). */
  https?: HttpsOptions
  /** Flink's `rest.server.max-content-length` for non-multipart bodies. */
  maxContentLength?: number
  /** Where uploaded jars are stored; a fresh temporary folder by default. */
  uploadDir?: string
}

export interface Standin {
  readonly url: string
  readonly port: number
  readonly record: StandinRecord
  readonly jobs: ReadonlyMap<string, StandinJob>
  readonly state: ClusterState
  /** Delay before answering every request: for timeout and graceful-shutdown tests. */
  responseDelayMs: number
  close(): Promise<void>
}

/** Flink's default `rest.server.max-content-length`: 100 MiB. */
export const DEFAULT_MAX_CONTENT_LENGTH = 104_857_600
/** Bodies kept in memory for parsing (JSON requests); anything longer is only counted and hashed. */
const MAX_KEPT_BODY_BYTES = 1024 * 1024
const EMPTY_SHA256 = createHash('sha256').digest('hex')
const JSON_TYPE = 'application/json; charset=UTF-8'

interface Reply {
  status: number
  body: Buffer
  type: string
  close?: boolean
}

interface Context {
  readonly params: Readonly<Record<string, string>>
  readonly body: Buffer
  readonly request: IncomingMessage
}

type Handler = (context: Context) => Reply | Promise<Reply>

const json = (status: number, value: unknown): Reply => ({
  status,
  body: Buffer.from(JSON.stringify(value)),
  type: JSON_TYPE,
})
const jobNotFound = (id: string) => flinkError(404, `Job ${id} not found`)
/** Flink's shape for an exception a handler did not map: two messages, the second the server-side trace. */
const internalError = (message: string) =>
  flinkError(
    500,
    'Internal server error.',
    `<Exception on server side:\n${message}\n\tat ...\n\nEnd of exception on server side>`,
  )
/** Flink's EmptyResponseBody: `{}`, never an empty body (2.x's client reads that as success). */
const empty = (status: number): Reply => json(status, {})
const flinkError = (status: number, ...errors: string[]): Reply => json(status, { errors })
const JOB_ID = /^[0-9a-f]{32}$/i

/**
 * Flink's router (flink-runtime's router/ package): all leading and trailing slashes are dropped, the rest
 * split on `/` (an inner `//` is an empty segment), after the path was percent-decoded; a route is
 * registered with and without the `v1` version prefix; `:name` takes any one segment, the empty one too.
 */
function pathTokens(path: string): string[] {
  const trimmed = path.replace(/^\/+|\/+$/g, '')
  return trimmed === '' ? [] : trimmed.split('/')
}

/** A fake Flink JobManager REST endpoint that follows Flink's REST spec (docs/flink-rest/). Not Flink. */
export async function startStandin(options: StandinOptions = {}): Promise<Standin> {
  const state = new ClusterState()
  const record = new StandinRecord()
  const uploadDir = options.uploadDir ?? mkdtempSync(join(tmpdir(), 'flink-web-upload-'))
  const maxContentLength = options.maxContentLength ?? DEFAULT_MAX_CONTENT_LENGTH
  let address = ''

  // Hot GET bodies are serialised once per state change, not per request (the benchmarks lean on them).
  const cache = new Map<string, { version: number; reply: Reply }>()
  const cached = (key: string, build: () => unknown): Reply => {
    const hit = cache.get(key)
    if (hit !== undefined && hit.version === state.version) return hit.reply
    const reply = json(200, build())
    cache.set(key, { version: state.version, reply })
    return reply
  }
  const configReply = json(200, payloads.dashboardConfig())

  // Flink parses :jobid into a JobID before any handler runs.
  const withJobId =
    (handler: Handler): Handler =>
    (context) =>
      JOB_ID.test(context.params.jobid!)
        ? handler(context)
        : flinkError(
            400,
            `org.apache.flink.runtime.rest.handler.RestHandlerException: Bad request, could not parse parameters: Cannot resolve path parameter (jobid) from value "${context.params.jobid}".`,
          )
  const withJob = (handler: (job: StandinJob, context: Context) => Reply, missing = jobNotFound): Handler =>
    withJobId((context) => {
      const job = state.jobs.get(context.params.jobid!)
      return job === undefined ? missing(context.params.jobid!) : handler(job, context)
    })
  const cancel = withJob((job) => {
    state.cancel(job)
    return empty(202)
  })
  // A savepoint or stop is triggered for any JobID: an unknown job fails later, when the trigger is polled.
  // The stand-in's savepoints complete at once; a stop ends its job FINISHED, as Flink's does.
  const savepoints = new Map<string, { jobId: string; location: string | null }>()
  const trigger = (stop: boolean) =>
    withJobId(({ body, params }) => {
      let directory = 'file:/tmp/flink-standin/savepoints'
      if (body.length > 0) {
        try {
          const target = JSON.parse(body.toString('utf8'))['target-directory']
          if (typeof target === 'string') directory = target.replace(/\/+$/, '')
        } catch {
          return flinkError(400, 'Request did not match expected format SavepointTriggerRequestBody.')
        }
      }
      const triggerId = flinkId()
      const job = state.jobs.get(params.jobid!)
      // Flink's name for it: savepoint-<first 6 of the job id>-<12 random hex>, in the target directory.
      const location =
        job?.state === 'RUNNING'
          ? `${directory}/savepoint-${job.id.slice(0, 6)}-${triggerId.slice(0, 12)}`
          : null
      if (job !== undefined && location !== null && stop) state.finish(job)
      savepoints.set(`${params.jobid}/${triggerId}`, { jobId: params.jobid!, location })
      return json(202, { 'request-id': triggerId })
    })
  const savepointStatus = withJobId(({ params }) => {
    const savepoint = savepoints.get(`${params.jobid}/${params.triggerid}`)
    if (savepoint === undefined)
      return flinkError(
        404,
        `There is no savepoint operation with triggerId=${params.triggerid} for job ${params.jobid}.`,
      )
    if (savepoint.location !== null)
      return json(200, { status: { id: 'COMPLETED' }, operation: { location: savepoint.location } })
    const cause = `org.apache.flink.runtime.messages.FlinkJobNotFoundException: Could not find Flink job (${savepoint.jobId})`
    return json(200, {
      status: { id: 'COMPLETED' },
      operation: {
        'failure-cause': {
          class: 'org.apache.flink.util.SerializedThrowable',
          'stack-trace': `${cause}\n\tat …`,
        },
      },
    })
  })

  const routes: [method: string, pattern: string, handler: Handler][] = [
    ['GET', '/config', () => configReply],
    ['GET', '/overview', () => cached('overview', () => payloads.clusterOverview(state))],
    ['GET', '/jobs', () => cached('jobs', () => payloads.jobIds(state))],
    ['GET', '/jobs/overview', () => json(200, payloads.jobsOverview(state))],
    ['GET', '/jobs/:jobid', withJob((job) => json(200, payloads.jobDetails(job)))],
    ['PATCH', '/jobs/:jobid', cancel],
    [
      'GET',
      '/jobs/:jobid/status',
      // Flink's JobStatusHandler lets the FlinkJobNotFoundException through as a 500.
      withJob(
        (job) => json(200, { status: job.state }),
        (id) => internalError(`FlinkJobNotFoundException: Could not find Flink job (${id})`),
      ),
    ],
    ['GET', '/jobs/:jobid/yarn-cancel', cancel],
    ['POST', '/jobs/:jobid/savepoints', trigger(false)],
    ['POST', '/jobs/:jobid/stop', trigger(true)],
    ['GET', '/jobs/:jobid/savepoints/:triggerid', savepointStatus],
    ['GET', '/taskmanagers', () => json(200, payloads.taskManagers())],
    // GeneratedLogUrlHandler: Flink's REST base URL plus a dashboard route, for any job id (not parsed).
    ['GET', '/jobs/:jobid/jobmanager/log-url', () => json(200, { url: `${address}/#/job-manager/logs` })],
    [
      'GET',
      '/jobs/:jobid/taskmanagers/:taskmanagerid/log-url',
      ({ params }) => json(200, { url: `${address}/#/task-manager/${params.taskmanagerid}/logs` }),
    ],
    ['GET', '/jars', () => json(200, payloads.jarList(state, address))],
    ['POST', '/jars/upload', ({ request }) => uploadJar(request)],
    [
      'POST',
      '/jars/:jarid/run',
      ({ params }) => {
        const jar = state.jars.get(params.jarid!)
        if (jar === undefined)
          return internalError(`Jar file ${join(uploadDir, params.jarid!)} does not exist`)
        return json(200, { jobid: state.addJob(jar.name.replace(/\.jar$/, ''), 'RUNNING').id })
      },
    ],
    [
      'DELETE',
      '/jars/:jarid',
      ({ params }) =>
        state.jars.delete(params.jarid!) ? empty(200) : flinkError(400, 'File does not exist.'),
    ],
    [
      'DELETE',
      '/cluster',
      () => {
        state.shutDown = true
        state.version++
        return json(200, {})
      },
    ],
    ['GET', '/jobmanager/config', () => json(200, payloads.jobManagerConfig())],
    ['GET', '/jobmanager/logs', () => json(200, payloads.logList())],
    [
      'GET',
      '/jobmanager/logs/:filename',
      ({ params }) => {
        const text = payloads.LOG_FILES.get(params.filename!)
        if (text === undefined) return flinkError(404, 'Log file does not exist.')
        return { status: 200, body: Buffer.from(text), type: 'text/plain; charset=UTF-8' }
      },
    ],
  ]
  const table = routes.map(([method, pattern, handler]) => ({
    method,
    pattern,
    segments: pathTokens(pattern),
    handler,
  }))

  async function uploadJar(request: IncomingMessage): Promise<Reply> {
    if (!/^multipart\/form-data/i.test(request.headers['content-type'] ?? '')) {
      return flinkError(400, 'Exactly 1 file must be sent, received 0.')
    }
    const outcome = await receiveJarUpload(request, uploadDir)
    if (!outcome.ok) return flinkError(400, outcome.message)
    record.uploads.push(outcome.upload)
    state.addJar({
      id: outcome.storedName,
      name: outcome.upload.originalName,
      uploaded: Date.now(),
      serverPath: outcome.upload.serverPath,
    })
    return json(200, { filename: outcome.upload.serverPath, status: 'success' })
  }

  /** A route of `method` for the decoded path, as Flink's Router finds one; HEAD never has one. */
  function route(
    method: string,
    path: string,
  ): { handler: Handler; params: Record<string, string>; pattern: string } | null {
    const tokens = pathTokens(path)
    const variants = tokens[0] === 'v1' ? [tokens, tokens.slice(1)] : [tokens]
    for (const segments of variants) {
      for (const candidate of table) {
        if (candidate.method !== method || candidate.segments.length !== segments.length) continue
        const params: Record<string, string> = {}
        // Router.decodePathTokens decodes each segment once more, reading `+` as a space.
        const fits = candidate.segments.every((part, i) => {
          if (part.startsWith(':'))
            params[part.slice(1)] = decodeURIComponent(segments[i]!.replaceAll('+', ' '))
          return part.startsWith(':') || part === segments[i]
        })
        if (fits) return { handler: candidate.handler, params, pattern: candidate.pattern }
      }
    }
    return null
  }

  /** Every GET without a route reaches the dashboard's StaticFileServerHandler (`/:*`). */
  function staticFile(path: string): Reply {
    const file = path.endsWith('/') ? `${path}index.html` : path
    if (file === '/index.html') {
      return { status: 200, body: Buffer.from(payloads.DASHBOARD_HTML), type: 'text/html' }
    }
    return flinkError(404, `Unable to load requested file ${file}.`)
  }

  const holder = { responseDelayMs: 0 }

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const method = request.method ?? 'GET'
    const url = request.url ?? '/'
    const entry: RecordedRequest = {
      method,
      url,
      headers: request.headers,
      bodyBytes: 0,
      bodySha256: EMPTY_SHA256,
      aborted: false,
    }
    record.add(entry)
    response.on('close', () => {
      if (!response.writableFinished) entry.aborted = true
    })

    const queryStart = url.indexOf('?')
    let path: string
    let found: ReturnType<typeof route>
    try {
      // Netty's QueryStringDecoder decodes the path before routing (a `+` stays a `+` there).
      path = decodeURIComponent(queryStart === -1 ? url : url.slice(0, queryStart))
      found = route(method, path)
    } catch {
      path = url
      found = null // undecodable
    }

    let reply: Reply
    if (found?.pattern === '/jars/upload') {
      meterBody(request, entry)
      reply = await Promise.resolve(
        found.handler({ params: found.params, body: Buffer.alloc(0), request }),
      ).catch((err: NodeJS.ErrnoException) =>
        // A file that cannot be written (disk full, a quota) is Flink's FileUploadHandler's 500; anything else
        // is a body that does not parse.
        err.syscall === 'write' || err.syscall === 'open'
          ? flinkError(500, 'File upload failed.')
          : flinkError(400, `Could not parse the multipart request: ${err.message}`),
      )
    } else {
      const body = await readBody(request, entry, maxContentLength)
      if (body === 'too-large') {
        reply = {
          ...flinkError(
            413,
            `Request entity too large (rest.server.max-content-length is ${maxContentLength} bytes).`,
          ),
          close: true,
        }
      } else if (found === null && method === 'GET') {
        reply = staticFile(path)
      } else if (found === null) {
        // RouterHandler.respondNotFound: no 405, the raw URI with its query, also for HEAD.
        reply = flinkError(404, `Not found: ${url}`)
      } else {
        reply = await found.handler({ params: found.params, body, request })
      }
    }
    if (holder.responseDelayMs > 0) await sleep(holder.responseDelayMs)
    if (response.destroyed) return
    response.writeHead(reply.status, {
      'content-type': reply.type,
      'content-length': reply.body.length,
      // Flink's default `web.access-control-allow-origin: *`: the proxy must replace it with its own policy.
      'access-control-allow-origin': '*',
      ...(reply.close ? { connection: 'close' } : {}),
    })
    // A HEAD answer carries the length of the body it leaves out, as Netty's codec does.
    response.end(method === 'HEAD' ? undefined : reply.body)
  }

  const listener = (request: IncomingMessage, response: ServerResponse) => {
    handle(request, response).catch((err: Error) => {
      if (!response.headersSent) {
        response.writeHead(500, { 'content-type': JSON_TYPE })
        response.end(JSON.stringify({ errors: ['Internal server error.', err.message] }))
      }
    })
  }
  const server = options.https ? createHttpsServer(options.https, listener) : createServer(listener)
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve)
  })
  const { port } = server.address() as AddressInfo
  address = `${options.https ? 'https' : 'http'}://${options.host ?? '127.0.0.1'}:${port}`

  return {
    url: address,
    port,
    record,
    jobs: state.jobs,
    state,
    get responseDelayMs() {
      return holder.responseDelayMs
    },
    set responseDelayMs(value: number) {
      holder.responseDelayMs = value
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}

/** Counts and hashes a body that another consumer (the multipart parser) reads. */
function meterBody(request: IncomingMessage, entry: RecordedRequest): void {
  const hash = createHash('sha256')
  request.on('data', (chunk: Buffer) => {
    hash.update(chunk)
    entry.bodyBytes += chunk.length
  })
  request.on('end', () => {
    entry.bodySha256 = hash.digest('hex')
  })
}

/** Reads a non-multipart body, hashing all of it and keeping the first MiB for parsing. */
async function readBody(
  request: IncomingMessage,
  entry: RecordedRequest,
  limit: number,
): Promise<Buffer | 'too-large'> {
  const declared = request.headers['content-length']
  if (declared === undefined && request.headers['transfer-encoding'] === undefined) return Buffer.alloc(0)
  if (declared !== undefined && Number(declared) > limit) return 'too-large'
  const hash = createHash('sha256')
  const kept: Buffer[] = []
  let keptBytes = 0
  for await (const chunk of request as AsyncIterable<Buffer>) {
    entry.bodyBytes += chunk.length
    if (entry.bodyBytes > limit) return 'too-large'
    hash.update(chunk)
    if (keptBytes < MAX_KEPT_BODY_BYTES) {
      kept.push(chunk)
      keptBytes += chunk.length
    }
  }
  entry.bodySha256 = hash.digest('hex')
  return Buffer.concat(kept)
}
