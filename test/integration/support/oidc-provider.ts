import { createServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import Provider, { type Configuration } from 'oidc-provider'

/** The groups each dev login gets in its ID token; any other login name is a viewer. */
export const DEV_ACCOUNTS: Readonly<Record<string, readonly string[]>> = {
  admin: ['flink-admins'],
  alice: ['flink-operators'],
  bob: ['flink-viewers'],
}

export interface OidcClient {
  readonly clientId: string
  readonly clientSecret: string
  /** The proxy's public origin: its callback and post-logout URLs are registered from it. */
  readonly publicUrl: string
}

export interface DevProvider {
  readonly issuer: string
  readonly provider: Provider
  close(): Promise<void>
}

/**
 * A real OpenID provider (`oidc-provider` with its development login and consent pages, which accept any
 * login name and password) on 127.0.0.1, serving HTTPS with `tls` so relying parties verify it as they would
 * a production provider. Refresh tokens are issued to every client allowed the grant, without offline_access.
 */
export async function startDevProvider(options: {
  readonly tls: { readonly key: string | Buffer; readonly cert: string | Buffer }
  readonly clients: readonly OidcClient[]
  readonly host?: string
  readonly port?: number
  readonly accessTokenTtlSec?: number
  /** Scope-requested claims (`groups` among them) only from userinfo, not in the ID token, as many providers do. */
  readonly claimsInUserinfoOnly?: boolean
  /** Called before the provider starts serving: event listeners, Koa middleware (`provider.use`). */
  readonly configure?: (provider: Provider) => void
}): Promise<DevProvider> {
  const server = createServer({ key: options.tls.key, cert: options.tls.cert })
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  const issuer = `https://${options.host ?? '127.0.0.1'}:${port}`
  const configuration: Configuration = {
    clients: options.clients.map((client) => ({
      client_id: client.clientId,
      client_secret: client.clientSecret,
      redirect_uris: [`${client.publicUrl}/oauth2/callback`],
      post_logout_redirect_uris: [`${client.publicUrl}/`],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
    })),
    claims: { openid: ['sub'], email: ['email'], profile: ['name'], groups: ['groups'] },
    // Roles travel in the ID token, unless the test wants them only at the userinfo endpoint.
    conformIdTokenClaims: options.claimsInUserinfoOnly ?? false,
    findAccount: (_ctx, id) => ({
      accountId: id,
      claims: () => ({
        sub: id,
        name: id,
        email: `${id}@example.com`,
        groups: [...(DEV_ACCOUNTS[id] ?? ['flink-viewers'])],
      }),
    }),
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    features: {
      devInteractions: { enabled: true },
      revocation: { enabled: true },
      rpInitiatedLogout: { enabled: true },
    },
    cookies: { keys: ['dev-provider-cookie-key-not-a-secret'] },
    ttl: {
      AccessToken: options.accessTokenTtlSec ?? 3_600,
      IdToken: options.accessTokenTtlSec ?? 3_600,
      Interaction: 600,
      Session: 86_400,
      Grant: 86_400,
      RefreshToken: 86_400,
    },
  }
  const provider = new Provider(issuer, configuration)
  // Quiet: the dev-interactions warning goes to the console once per process, errors to the tests.
  provider.on('server_error', (_ctx, err) => console.error('oidc-provider server_error', err))
  options.configure?.(provider)
  // callback() composes the middleware as it is then: configure() must come first.
  server.on('request', provider.callback())
  return {
    issuer,
    provider,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
