import { type IncomingMessage, type ServerResponse, STATUS_CODES } from 'node:http'
import type { Duplex } from 'node:stream'
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { isBrowserNavigation } from './auth/oidc/browser-request.js'
import { errorPage } from './error-page.js'
import { ERROR_CODE_HEADER, ERRORS, type ErrorCode, errorBody, FlinkGuardError } from './errors.js'
import { lingerOnClose } from './proxy/lingering-close.js'

/**
 * Every error response leaves through here: Flink's `{"errors": [...]}` shape (a readable page for a browser's
 * navigation, src/error-page.ts), our code in a header, never a stack.
 * Errors we did not define are logged in full and shown to the client as FG_ERR_PROXY_INTERNAL.
 */
export function replyWithError(error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const known = asFlinkGuardError(error)
  if (known.code === 'FG_ERR_PROXY_INTERNAL') request.log.error({ err: error }, 'request failed')
  else request.log.warn({ code: known.code, reason: reasonOf(known) }, known.message)
  // A body the client is still sending (or was told to hold back by Expect) cannot be drained safely: the
  // connection ends, lingering so that the client reads this answer rather than a reset.
  if (!request.raw.complete) {
    reply.header('connection', 'close')
    lingerOnClose(request.raw.socket)
  }
  const retryAfterSec = (ERRORS[known.code] as { retryAfterSec?: number }).retryAfterSec
  if (retryAfterSec !== undefined) reply.header('retry-after', String(retryAfterSec))
  reply.code(known.statusCode).header(ERROR_CODE_HEADER, known.code)
  // A person at the address bar reads a page; a front proxy's check and every API client read Flink's JSON.
  if (!request.forwardAuthCheck && isBrowserNavigation(request.method, request.headers)) {
    return reply.send(errorPage(known, request, reply))
  }
  return reply.type('application/json; charset=utf-8').send(errorBody(known))
}

function asFlinkGuardError(error: unknown): FlinkGuardError {
  if (error instanceof FlinkGuardError) return error
  const status = (error as FastifyError | null)?.statusCode
  // Fastify's own 4xx (bad URL, unsupported media type, …): a malformed request, its details stay in the log.
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return new FlinkGuardError('FG_ERR_REQUEST_MALFORMED', { cause: error })
  }
  return new FlinkGuardError('FG_ERR_PROXY_INTERNAL', { cause: error })
}

function reasonOf(error: FlinkGuardError): string | undefined {
  const cause = error.cause as { code?: string; message?: string } | undefined
  if (cause === undefined) return undefined
  return cause.code !== undefined && cause.message !== undefined
    ? `${cause.code}: ${cause.message}`
    : (cause.code ?? cause.message)
}

/**
 * Errors Node raises before a request exists (unparsable request, headers over the limit, headers too slow)
 * answered in the same shape as every other error, then the connection is closed.
 */
export function replyToClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return
  const code: ErrorCode =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? 'FG_ERR_REQUEST_HEADERS_TOO_LARGE'
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? 'FG_ERR_REQUEST_TIMEOUT'
        : 'FG_ERR_REQUEST_MALFORMED'
  const error = new FlinkGuardError(code)
  const body = JSON.stringify(errorBody(error))
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${error.statusCode} ${STATUS_CODES[error.statusCode]}\r\nConnection: close\r\n` +
        `${ERROR_CODE_HEADER}: ${code}\r\n` +
        `Content-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    )
  }
  socket.destroy()
}

/** Node calls this for an `Expect` other than `100-continue` (RFC 9110 §10.1.1: answer 417). */
export function replyToUnsupportedExpectation(_request: IncomingMessage, response: ServerResponse): void {
  const body = JSON.stringify(errorBody(new FlinkGuardError('FG_ERR_REQUEST_EXPECTATION_FAILED')))
  response.writeHead(417, {
    connection: 'close',
    [ERROR_CODE_HEADER]: 'FG_ERR_REQUEST_EXPECTATION_FAILED',
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
  })
  response.end(body)
}
