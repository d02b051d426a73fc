import type { Socket } from 'node:net'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { redactUrl } from './redact-url.js'

/**
 * The connection as it was when the request arrived: its socket, the bytes already written on it (the
 * difference at the end is this response's) and the client's address. Kept because `request.raw.socket` does
 * not last: undici sets it to null when it is done streaming a request body to Flink (so that destroying the
 * body does not close the client's connection), which left every upload and savepoint trigger with no address
 * and `bytesOut: 0`.
 */
const CONNECTION_AT_START = Symbol('connectionAtStart')

interface ConnectionAtStart {
  readonly socket: Socket | null
  readonly bytesWritten: number
  readonly clientAddress: string | null
}

type Tracked = FastifyRequest & { [CONNECTION_AT_START]?: ConnectionAtStart }

export function markAccessStart(request: FastifyRequest): void {
  const socket = request.raw.socket ?? null
  ;(request as Tracked)[CONNECTION_AT_START] = {
    socket,
    bytesWritten: socket?.bytesWritten ?? 0,
    clientAddress: request.ip ?? null,
  }
}

/** The client's address (the front proxy's X-Forwarded-For entry when one is trusted), whatever became of the socket. */
export function clientAddressOf(request: FastifyRequest): string | null {
  return (request as Tracked)[CONNECTION_AT_START]?.clientAddress ?? request.ip ?? null
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
  const start = (request as Tracked)[CONNECTION_AT_START]
  const socket = start?.socket ?? request.raw.socket
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
      bytesOut: Math.max(0, (socket?.bytesWritten ?? 0) - (start?.bytesWritten ?? 0)),
      remoteAddress: clientAddressOf(request),
      user: request.identity?.subject ?? null,
      // A front proxy's check (forward-auth): the line is for the request it described, which Flink got from it.
      ...(request.forwardAuthCheck ? { forwardAuthCheck: true } : {}),
    },
    'request completed',
  )
}
