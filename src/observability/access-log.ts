import type { FastifyReply, FastifyRequest } from 'fastify'
import { redactUrl } from './redact-url.js'

/** Bytes already written on the connection when the request arrived; the difference at the end is this response's. */
const BYTES_WRITTEN_AT_START = Symbol('bytesWrittenAtStart')

type Tracked = FastifyRequest & { [BYTES_WRITTEN_AT_START]?: number }

export function markAccessStart(request: FastifyRequest): void {
  ;(request as Tracked)[BYTES_WRITTEN_AT_START] = request.raw.socket?.bytesWritten ?? 0
}

/**
 * How the response ended: sent whole; cut because Flink's body broke off after its headers went out (undici
 * destroys the response with Flink's error: the client saw a broken response); or cut because the client left.
 */
export function responseOutcome(reply: FastifyReply): 'complete' | 'upstream_cut' | 'client_gone' {
  if (reply.raw.writableFinished) return 'complete'
  return reply.raw.errored ? 'upstream_cut' : 'client_gone'
}

/** One structured line per request: who asked what, what came back, how long and how big. */
export function logAccess(request: FastifyRequest, reply: FastifyReply): void {
  const start = (request as Tracked)[BYTES_WRITTEN_AT_START] ?? 0
  const declaredIn = request.headers['content-length']
  request.log.info(
    {
      method: request.method,
      // Tokens in a query string and the OIDC callback's code and state never reach the log.
      url: redactUrl(request.url),
      route: request.routeLabel,
      status: reply.statusCode,
      outcome: responseOutcome(reply),
      durationMs: Math.round(reply.elapsedTime * 1000) / 1000,
      bytesIn: declaredIn === undefined ? (request.bodyMeter?.bytes ?? 0) : Number(declaredIn),
      bytesOut: Math.max(0, (request.raw.socket?.bytesWritten ?? start) - start),
      remoteAddress: request.ip,
      user: request.identity?.subject ?? null,
      // A front proxy's check (forward-auth): the line is for the request it described, which Flink got from it.
      ...(request.forwardAuthCheck ? { forwardAuthCheck: true } : {}),
    },
    'request completed',
  )
}
