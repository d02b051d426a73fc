import type { Config } from '../config/schema.js'
import type { Authenticator } from './authenticator.js'
import { BasicAuthenticator } from './basic/authenticator.js'
import { AuthChain } from './chain.js'
import type { Identity } from './identity.js'
import { JwtAuthenticator } from './jwt/authenticator.js'
import type { AuthenticatorOptions, AuthLogger } from './logger.js'
import { MtlsAuthenticator } from './mtls.js'
import { OidcAuthenticator } from './oidc/authenticator.js'
import { bearerConfigFromOidc } from './oidc/config.js'

/**
 * Builds and starts the configured authenticators in `auth.order`; the ones not configured are left out.
 * Start-up fails on a bad htpasswd or key file; an unreachable IdP does not (readiness says so instead).
 */
export async function createAuthChain(
  auth: Config['auth'],
  logger: AuthLogger,
  onReload?: AuthenticatorOptions['onReload'],
  loginThrottle?: AuthenticatorOptions['loginThrottle'],
): Promise<AuthChain> {
  const authenticators: Authenticator[] = []
  // Without auth.jwt, bearer tokens from the OIDC provider are still accepted (audience = clientId).
  const jwt = auth.jwt ?? (auth.oidc === undefined ? undefined : bearerConfigFromOidc(auth.oidc))
  try {
    for (const method of auth.order) {
      if (method === 'mtls' && auth.mtls !== undefined) authenticators.push(new MtlsAuthenticator(auth.mtls))
      if (method === 'jwt' && jwt !== undefined) {
        authenticators.push(await JwtAuthenticator.create(jwt, { logger }))
      }
      if (method === 'oidc' && auth.oidc !== undefined) {
        authenticators.push(await OidcAuthenticator.create(auth.oidc, { logger }))
      }
      if (method === 'basic' && auth.basic !== undefined) {
        authenticators.push(
          await BasicAuthenticator.create(auth.basic, {
            logger,
            ...(onReload === undefined ? {} : { onReload }),
            ...(loginThrottle === undefined ? {} : { loginThrottle }),
          }),
        )
      }
    }
  } catch (err) {
    await Promise.allSettled(authenticators.map((authenticator) => authenticator.close()))
    throw err
  }
  const anonymous: Identity | null =
    auth.anonymous === undefined
      ? null
      : Object.freeze({ subject: 'anonymous', roles: auth.anonymous.roles, method: 'anonymous', claims: {} })
  return new AuthChain(authenticators, anonymous)
}
