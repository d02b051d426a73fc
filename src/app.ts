import Fastify, { type FastifyInstance, LogController } from 'fastify'
import type { Config } from './config/schema.js'
import { replyToClientError, replyToUnsupportedExpectation, replyWithError } from './error-reply.js'
import { FlinkGuardError } from './errors.js'
import { logAccess, markAccessStart } from './observability/access-log.js'
import type { LoggerOption } from './observability/logger.js'
import type { ProxyMetrics } from './observability/metrics.js'
import { requestIdOf } from './observability/request-id.js'
import { ROUTE_LABEL_UNKNOWN, routeLabel } from './observability/route-label.js'
import type { BodyLimit } from './proxy/body-limit.js'
import { bodyTooLarge } from './proxy/body-limit.js'
import type { Forwarder } from './proxy/forward.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** Counts a chunked request body as it streams to Flink (null when the size was declared or there is none). */
    bodyMeter: BodyLimit | null
    /** The Flink route template this request addresses (see routeLabel): for logs and metric labels. */
    routeLabel: string
  }
}

export interface ProxyAppDependencies {
  readonly forwarder: Forwarder
  readonly logger: LoggerOption
  readonly metrics: ProxyMetrics | null
}

const SLASH = 0x2f
const ALL_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const
/** Headers past this many bytes are refused by Node with 431 before any hook runs. */
const MAX_HEADER_BYTES = 32 * 1024
/** Slowloris guard: the request line and headers must arrive within this time. */
const HEADERS_TIMEOUT_MS = 30_000
/** Idle keep-alive connections from clients are closed after this long. */
const CLIENT_KEEP_ALIVE_MS = 65_000

/**
 * The public proxy, its pipeline written out in order (DESIGN.md §2). Everything before the handler runs in
 * `onRequest`, before a byte of the body is read, so a refused request never streams its body anywhere.
 */
export async function buildProxyApp(
  config: Readonly<Config>,
  deps: ProxyAppDependencies,
): Promise<FastifyInstance> {
  const { forwarder, metrics } = deps
  const app = Fastify({
    logger: deps.logger,
    // The access line is ours (onResponse), so Fastify's per-request lines are off.
    logController: new LogController({ disableRequestLogging: true }),
    genReqId: requestIdOf,
    routerOptions: { maxParamLength: 8192 },
    http: {
      maxHeaderSize: MAX_HEADER_BYTES,
      headersTimeout: HEADERS_TIMEOUT_MS,
      // No whole-request deadline: a 1 GiB jar upload over a slow link is legitimate. Stalls are bounded by
      // the idle timeout below, and Flink's silence by upstream.timeouts.responseMs.
      requestTimeout: 0,
    },
    connectionTimeout: config.upstream.timeouts.responseMs + 30_000,
    keepAliveTimeout: CLIENT_KEEP_ALIVE_MS,
    return503OnClosing: false,
    clientErrorHandler: replyToClientError,
  })

  // Node answers `Expect: 100-continue` on its own unless someone listens; we listen so the 100 goes out
  // only after authentication and authorization have passed (see forward()).
  app.server.on('checkContinue', (req, res) => app.server.emit('request', req, res))
  app.server.on('checkExpectation', replyToUnsupportedExpectation)

  app.decorateRequest('bodyMeter', null)
  app.decorateRequest('routeLabel', ROUTE_LABEL_UNKNOWN)
  app.setErrorHandler((error, request, reply) => replyWithError(error, request, reply))
  app.setNotFoundHandler((request, reply) =>
    replyWithError(
      new FlinkGuardError('FG_ERR_REQUEST_MALFORMED', {
        message: 'The request target must be an absolute path',
      }),
      request,
      reply,
    ),
  )
  // Bodies are not parsed: they stream to Flink untouched.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', (_request, _payload, done) => done(null))

  // 1. Screen
  app.addHook('onRequest', async (request, reply) => {
    markAccessStart(request)
    request.routeLabel = routeLabel(request.method, request.url)
    reply.header('x-request-id', request.id)
    // Origin-form only (RFC 9112 §3.2.1): an absolute-form or `*` target names no Flink path.
    if (request.url.charCodeAt(0) !== SLASH) {
      throw new FlinkGuardError('FG_ERR_REQUEST_MALFORMED', {
        message: 'The request target must be an absolute path',
      })
    }
    const declared = request.headers['content-length']
    if (declared !== undefined && Number(declared) > config.limits.maxBodyBytes) {
      throw bodyTooLarge(config.limits.maxBodyBytes)
    }
  })
  // 2. Forward
  app.route({ method: [...ALL_METHODS], url: '/*', handler: forwarder.forward })
  // 3. Record
  app.addHook('onResponse', async (request, reply) => {
    logAccess(request, reply)
    metrics?.recordRequest(request.routeLabel, request.method, reply.statusCode, reply.elapsedTime / 1000)
  })

  return app
}
