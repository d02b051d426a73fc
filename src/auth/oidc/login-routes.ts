import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { FlinkGuardError } from '../../errors.js'
import type { LoginError, LoginRedirect, OidcLogin } from './login-flow.js'

/**
 * The callback and logout routes. They are registered beside the proxy scope, not inside it, so the
 * authentication and authorization hooks never see them (they are how a user gets a session); the screening
 * hooks of the root scope (allowlist, canonical path, security headers) still run first. The paths come from
 * `paths`; each request is served by `loginOf(request)`, the login of the config it started on.
 */
export function loginRoutes(
  paths: Pick<OidcLogin, 'callbackPath' | 'logoutPath'>,
  loginOf: (request: FastifyRequest) => OidcLogin,
) {
  return async function oidcLoginRoutes(scope: FastifyInstance): Promise<void> {
    scope.route({
      method: 'GET',
      url: paths.callbackPath,
      // A HEAD would spend the code and the login transaction for nothing.
      exposeHeadRoute: false,
      handler: async (request, reply) => {
        try {
          return redirect(
            reply,
            await loginOf(request).callback(request.canonical?.query ?? '', request.headers.cookie),
          )
        } catch (err) {
          const setCookies = (err as LoginError).setCookies
          if (setCookies !== undefined) reply.header('set-cookie', setCookies)
          throw err
        }
      },
    })
    // Logout changes state, so it is a POST from our own origin; a GET (a link, an image, the address bar)
    // only shows the button that sends that POST, or any page could sign users out.
    scope.route({
      method: 'GET',
      url: paths.logoutPath,
      exposeHeadRoute: false,
      handler: async (_request, reply) => {
        const csp = reply.getHeader('content-security-policy')
        return reply
          .code(200)
          .header('cache-control', 'no-store')
          .header('content-type', 'text/html; charset=utf-8')
          .header('content-security-policy', `default-src 'none'${csp === undefined ? '' : `; ${csp}`}`)
          .send(logoutPage(paths.logoutPath))
      },
    })
    scope.route({
      method: 'POST',
      url: paths.logoutPath,
      handler: async (request, reply) => {
        const login = loginOf(request)
        if (!login.isSameOrigin(request.headers)) throw new FlinkGuardError('FG_ERR_AUTH_CROSS_SITE')
        return redirect(reply, await login.logout(request.headers.cookie))
      },
    })
  }
}

/** The sign-out page: no script, one form that POSTs to the logout path (a plain path, nothing to escape). */
export const logoutPage = (logoutPath: string): string => `<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Sign out</title></head>
<body>
<form method="post" action="${logoutPath}"><button type="submit">Sign out</button></form>
</body>
</html>
`

/** 302 with the cookies that change; never cached, since it carries or deletes a session. */
export function redirect(reply: FastifyReply, { location, setCookies }: LoginRedirect): FastifyReply {
  return reply
    .code(302)
    .header('cache-control', 'no-store')
    .header('location', location)
    .header('set-cookie', setCookies)
    .send()
}
