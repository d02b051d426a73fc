import { EventEmitter } from 'node:events'
import type { OutgoingHttpHeaders } from 'node:http'
import { PassThrough, type Readable } from 'node:stream'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { Pool } from 'undici'
import { JarUploadScreen } from '../arguments/jar-upload.js'
import { screenRequestBody } from '../arguments/screen.js'
import type { Config } from '../config/schema.js'
import { FlinkGuardError } from '../errors.js'
import type { UpstreamConfig } from '../upstream/config.js'
import { BodyLimit } from './body-limit.js'
import { clientResponseHeaders, type RequestHeaderPolicy, upstreamRequestHeaders } from './headers.js'
import { inspectionOf, inspectResponse } from './inspect-response.js'
import { lingerOnClose } from './lingering-close.js'
import { upstreamError } from './upstream-errors.js'
import { upstreamConnector } from './upstream-tls.js'

/** nginx's convention for "the client closed the request before the response": shows in the access log only. */
const CLIENT_CLOSED_REQUEST = 499
const MAX_UPSTREAM_CONNECTIONS = 128

/** Told about every upstream exchange (metrics); absent when nothing listens. */
export interface UpstreamObserver {
  upstreamResponded(request: FastifyRequest, seconds: number): void
  upstreamFailed(request: FastifyRequest, error: FlinkGuardError): void
}

export interface ForwarderOptions {
  /** The upstream runs user code (a YARN application master): its Set-Cookie never reaches the client. */
  readonly dropSetCookie?: boolean
}

export interface Forwarder {
  /** The Fastify handler that streams one request to Flink and Flink's answer back. */
  forward(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply>
  /** The keep-alive pool to Flink, shared with the readiness check. */
  readonly pool: Pool
  close(): Promise<void>
}

/**
 * Forwarding on an undici pool, written directly rather than through @fastify/reply-from: reply-from
 * rebuilds the target with `new URL()`, which resolves dot segments, turns `\` into `/` and re-encodes bytes,
 * so Flink would not receive the path that was screened and authorised. Here the request target goes out
 * byte-exact, and both bodies stream without buffering.
 */
export function createForwarder(
  upstream: Readonly<UpstreamConfig>,
  config: Pick<Readonly<Config>, 'limits' | 'responses'>,
  headerPolicy: RequestHeaderPolicy,
  observer?: UpstreamObserver,
  options: ForwarderOptions = {},
): Forwarder {
  const { connectMs, responseMs } = upstream.timeouts
  const origin = new URL(upstream.url)
  const pool = new Pool(origin.origin, {
    connections: MAX_UPSTREAM_CONNECTIONS,
    pipelining: 1,
    connect:
      origin.protocol === 'https:' ? upstreamConnector(upstream.tls, connectMs) : { timeout: connectMs },
    headersTimeout: responseMs,
    bodyTimeout: responseMs,
  })
  const maxBodyBytes = config.limits.maxBodyBytes

  async function forward(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const raw = request.raw
    // Built before the 100 Continue: identity headers that cannot carry the identity refuse the request here.
    const headers = upstreamRequestHeaders(
      raw.headers,
      {
        clientAddress: request.ip,
        protocol: request.protocol === 'https' ? 'https' : 'http',
        host: raw.headers.host,
        requestId: request.id,
        identity: request.identity,
      },
      headerPolicy,
    )
    const streamed = requestBody(request, maxBodyBytes)
    if (streamed !== null && raw.headers.expect !== undefined) {
      // The request passed every check in onRequest: now, and only now, invite the client to send its body.
      reply.raw.writeContinue()
    }
    // What an upload or a control action carries is judged before Flink acts on it (src/arguments/).
    const body = await screenRequestBody(request, streamed, {
      grants: request.upstream!.policy.arguments,
      jarFilesOnly: config.limits.uploads.jarFilesOnly,
      allowedSha256: config.limits.uploads.allowedSha256,
    })

    // undici takes an EventEmitter as the abort signal: far cheaper per request than an AbortController,
    // whose EventTarget machinery showed as 4% of the proxy's busy time in a profile.
    const clientLeft = new EventEmitter()
    let aborted = false
    const abortIfClientLeft = () => {
      if (reply.raw.writableFinished) return
      aborted = true
      clientLeft.emit('abort')
    }
    reply.raw.once('close', abortIfClientLeft)

    const started = performance.now()
    /** Set when Flink's answer is read before it goes back (inspect-response.ts). */
    let inspected: Promise<Readable | Buffer | string> | null = null
    try {
      // undici's stream(): Flink's body is written straight into the client's response, with backpressure,
      // without a Readable in between (a sixth less CPU per proxied request than request() + reply.send).
      await pool.stream(
        {
          // Exactly the target that was screened and authorised (see canonical-path.ts).
          path: request.canonical!.forwardTarget,
          method: raw.method as 'GET',
          headers,
          body,
          signal: clientLeft,
        },
        ({ statusCode, headers }) => {
          if (statusCode < 200 || statusCode > 599) {
            throw new FlinkGuardError('FG_ERR_UPSTREAM_BAD_RESPONSE', {
              message: `The Flink REST endpoint answered with status ${statusCode}`,
            })
          }
          observer?.upstreamResponded(request, (performance.now() - started) / 1000)
          const toClient = clientResponseHeaders(headers)
          if (options.dropSetCookie === true) delete toClient['set-cookie']
          reply.code(statusCode).headers(toClient)
          // Flink answered before reading the whole body (e.g. its own 413): the connection cannot be reused.
          if (!raw.complete) {
            reply.header('connection', 'close')
            lingerOnClose(raw.socket)
          }
          const inspection = inspectionOf(request, statusCode, headers, config.responses)
          if (inspection !== null) {
            const flinkBody = new PassThrough()
            inspected = inspectResponse(request, reply, flinkBody, inspection)
            return flinkBody
          }
          // From here on the response is written by hand: the headers Fastify holds (security, CORS, request
          // id, Flink's) go out with Flink's status; onResponse hooks still run when it finishes.
          reply.hijack()
          reply.raw.writeHead(statusCode, reply.getHeaders() as OutgoingHttpHeaders)
          return reply.raw
        },
      )
      if (inspected !== null) return reply.send(await inspected)
      return reply
    } catch (err) {
      // Flink's body broke off after its headers were sent on: nothing can be said to the client any more, so
      // the response is destroyed rather than ended (a chunked one without its last chunk, a sized one short),
      // which no client reads as a whole answer. undici has usually destroyed it already, with Flink's error.
      if (reply.sent) {
        reply.raw.destroy()
        return reply
      }
      if (aborted) return reply.code(CLIENT_CLOSED_REQUEST).send()
      // The body refused itself on the way (too large, no jar): that refusal, not Flink's broken exchange.
      const refusal = request.bodyMeter?.refusal ?? (body instanceof JarUploadScreen ? body.refusal : null)
      if (refusal !== null) throw refusal
      const failure = upstreamError(err)
      observer?.upstreamFailed(request, failure)
      throw failure
    } finally {
      reply.raw.removeListener('close', abortIfClientLeft)
    }
  }

  return { forward, pool, close: () => pool.close() }
}

/** The body to stream upstream: null when there is none; counted against the limit when its size is unknown. */
function requestBody(request: FastifyRequest, maxBodyBytes: number): Readable | null {
  const raw = request.raw
  const { method, headers } = raw
  if (method === 'GET' || method === 'HEAD') return null
  if (headers['content-length'] !== undefined) return headers['content-length'] === '0' ? null : raw
  if (headers['transfer-encoding'] === undefined) return null
  const limited = new BodyLimit(maxBodyBytes)
  raw.pipe(limited)
  request.bodyMeter = limited
  return limited
}
