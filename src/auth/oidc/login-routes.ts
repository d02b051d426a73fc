import type { FastifyInstance, FastifyReply } from 'fastify'
import type { LoginError, LoginRedirect, OidcLogin } from './login-flow.js'

/**
 * The callback and logout routes. They are registered beside the proxy scope, not inside it, so the
 * authentication and authorization hooks never see them (they are how a user gets a session); the screening
 * hooks of the root scope (allowlist, canonical path, security headers) still run first.
 */
export function loginRoutes(login: OidcLogin) {
  return async function oidcLoginRoutes(scope: FastifyInstance): Promise<void> {
    scope.route({
      method: 'GET',
      url: login.callbackPath,
      // A HEAD would spend the code and the login transaction for nothing.
      exposeHeadRoute: false,
      handler: async (request, reply) => {
        try {
          return redirect(reply, await login.callback(request.canonical?.query ?? '', request.headers.cookie))
        } catch (err) {
          const setCookies = (err as LoginError).setCookies
          if (setCookies !== undefined) reply.header('set-cookie', setCookies)
          throw err
        }
      },
    })
    scope.route({
      method: ['GET', 'POST'],
      url: login.logoutPath,
      exposeHeadRoute: false,
      handler: async (request, reply) => redirect(reply, await login.logout(request.headers.cookie)),
    })
  }
}

/** 302 with the cookies that change; never cached, since it carries or deletes a session. */
export function redirect(reply: FastifyReply, { location, setCookies }: LoginRedirect): FastifyReply {
  return reply
    .code(302)
    .header('cache-control', 'no-store')
    .header('location', location)
    .header('set-cookie', setCookies)
    .send()
}
