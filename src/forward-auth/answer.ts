import type { FastifyReply, FastifyRequest } from 'fastify'
import { identityHeaderValues } from '../proxy/identity-headers.js'
import type { ForwardAuth } from './forward-auth.js'

/**
 * The answer to a check every stage allowed: 200, no body, and who the caller is, for the front proxy to pass
 * on to Flink. Never cached: the next check of the same request may be judged by a reloaded config.
 */
export function answerCheck(request: FastifyRequest, reply: FastifyReply, forwardAuth: ForwardAuth) {
  const { user, groups } = identityHeaderValues(request.identity!)
  return reply
    .code(200)
    .header('cache-control', 'no-store')
    .header(forwardAuth.identityHeaders.user, user)
    .header(forwardAuth.identityHeaders.groups, groups)
    .send()
}
