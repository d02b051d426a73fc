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
const empty = (status: number): Reply => ({ status, body: Buffer.alloc(0), type: JSON_TYPE })
const flinkError = (status: number, ...errors: string[]): Reply => json(status, { errors })

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

  const withJob =
    (handler: (job: StandinJob, context: Context) => Reply): Handler =>
    (context) => {
      const job = state.jobs.get(context.params.jobid!)
      return job === undefined
        ? flinkError(404, `Job ${context.params.jobid} not found`)
        : handler(job, context)
    }
  const cancel = withJob((job) => {
    state.cancel(job)
    return empty(202)
  })
  const trigger = withJob((_job, { body }) => {
    if (body.length > 0) {
      try {
        JSON.parse(body.toString('utf8'))
      } catch {
        return flinkError(400, 'Request did not match expected format SavepointTriggerRequestBody.')
      }
    }
    return json(202, { 'request-id': flinkId() })
  })

  const routes: [method: string, pattern: string, handler: Handler][] = [
    ['GET', '/config', () => configReply],
    ['GET', '/overview', () => cached('overview', () => payloads.clusterOverview(state))],
    ['GET', '/jobs', () => cached('jobs', () => payloads.jobIds(state))],
    ['GET', '/jobs/overview', () => json(200, payloads.jobsOverview(state))],
    ['GET', '/jobs/:jobid', withJob((job) => json(200, payloads.jobDetails(job)))],
    ['PATCH', '/jobs/:jobid', cancel],
    ['GET', '/jobs/:jobid/status', withJob((job) => json(200, { status: job.state }))],
    ['GET', '/jobs/:jobid/yarn-cancel', cancel],
    ['POST', '/jobs/:jobid/savepoints', trigger],
    ['POST', '/jobs/:jobid/stop', trigger],
    ['GET', '/taskmanagers', () => json(200, payloads.taskManagers())],
    ['GET', '/jars', () => json(200, payloads.jarList(state, address))],
    ['POST', '/jars/upload', ({ request }) => uploadJar(request)],
    [
      'POST',
      '/jars/:jarid/run',
      ({ params }) => {
        const jar = state.jars.get(params.jarid!)
        if (jar === undefined)
          return flinkError(400, `Jar file ${join(uploadDir, params.jarid!)} does not exist`)
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
    [
      'GET',
      '/',
      () => ({ status: 200, body: Buffer.from(payloads.DASHBOARD_HTML), type: 'text/html; charset=UTF-8' }),
    ],
    [
      'GET',
      '/index.html',
      () => ({ status: 200, body: Buffer.from(payloads.DASHBOARD_HTML), type: 'text/html; charset=UTF-8' }),
    ],
  ]
  const table = routes.map(([method, pattern, handler]) => ({
    method,
    segments: pattern.split('/').slice(1),
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

  function route(
    method: string,
    path: string,
  ): { handler: Handler; params: Record<string, string> } | 'wrong-method' | null {
    const segments = path.split('/').slice(1)
    let pathKnown = false
    for (const candidate of table) {
      if (candidate.segments.length !== segments.length) continue
      const params: Record<string, string> = {}
      const fits = candidate.segments.every((part, i) => {
        if (part.startsWith(':')) {
          params[part.slice(1)] = decodeURIComponent(segments[i]!)
          return segments[i] !== ''
        }
        return part === segments[i]
      })
      if (!fits) continue
      if (candidate.method === method || (method === 'HEAD' && candidate.method === 'GET')) {
        return { handler: candidate.handler, params }
      }
      pathKnown = true
    }
    return pathKnown ? 'wrong-method' : null
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
    const rawPath = queryStart === -1 ? url : url.slice(0, queryStart)
    // Flink serves every route with and without a version prefix.
    const path = rawPath === '/v1' ? '/' : rawPath.startsWith('/v1/') ? rawPath.slice(3) : rawPath
    let found: ReturnType<typeof route>
    try {
      found = route(method, path)
    } catch {
      found = null // undecodable parameter
    }

    let reply: Reply
    if (found !== null && found !== 'wrong-method' && path === '/jars/upload' && method === 'POST') {
      meterBody(request, entry)
      reply = await Promise.resolve(
        found.handler({ params: found.params, body: Buffer.alloc(0), request }),
      ).catch((err: Error) => flinkError(400, `Could not parse the multipart request: ${err.message}`))
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
      } else if (found === null) {
        reply = flinkError(404, `Not found: ${rawPath}`)
      } else if (found === 'wrong-method') {
        reply = flinkError(405, `Request method ${method} is not allowed for ${rawPath}.`)
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
    response.end(reply.body)
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
