import type { Config } from '../config/schema.js'
import type { Authenticator } from './authenticator.js'
import { AuthChain } from './chain.js'
import type { Identity } from './identity.js'
import { MtlsAuthenticator } from './mtls.js'

/** Builds the configured authenticators in `auth.order`; the ones not configured are left out. */
export async function createAuthChain(auth: Config['auth']): Promise<AuthChain> {
  const authenticators: Authenticator[] = []
  for (const method of auth.order) {
    if (method === 'mtls' && auth.mtls !== undefined) authenticators.push(new MtlsAuthenticator(auth.mtls))
  }
  const anonymous: Identity | null =
    auth.anonymous === undefined
      ? null
      : Object.freeze({ subject: 'anonymous', roles: auth.anonymous.roles, method: 'anonymous', claims: {} })
  return new AuthChain(authenticators, anonymous)
}
