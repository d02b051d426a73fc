import Fastify, { type FastifyInstance, type FastifyReply, LogController } from 'fastify'
import { replyWithError } from '../error-reply.js'
import { ERROR_CODE_HEADER, ERRORS, FlinkGuardError } from '../errors.js'
import type { Logger } from './logger.js'

/**
 * What every admin listener has, a process's (./admin-app.ts) and a process group's primary's
 * (src/workers/primary-admin.ts): errors in flink-guard's shape, 404 for anything unknown, `/healthz`.
 */
export function adminAppBase(logger: Logger): FastifyInstance {
  const app = Fastify({
    loggerInstance: logger,
    logController: new LogController({ disableRequestLogging: true }),
  })
  app.setErrorHandler((error, request, reply) => replyWithError(error, request, reply))
  app.setNotFoundHandler((request, reply) =>
    replyWithError(new FlinkGuardError('FG_ERR_ADMIN_NOT_FOUND'), request, reply),
  )
  app.get('/healthz', async () => ({ status: 'alive' }))
  return app
}

/**
 * A probe's 503: the reasons in Flink's error shape, and `details` (the checks, the workers) beside the code,
 * since probes and people read it, not Flink's client.
 */
export function notReady(
  reply: FastifyReply,
  reasons: readonly string[],
  details: Record<string, unknown> = {},
): FastifyReply {
  return reply
    .code(503)
    .header(ERROR_CODE_HEADER, 'FG_ERR_ADMIN_NOT_READY')
    .send({
      errors: [`${ERRORS.FG_ERR_ADMIN_NOT_READY.message}: ${reasons.join('; ')}`],
      code: 'FG_ERR_ADMIN_NOT_READY',
      ...details,
    })
}
