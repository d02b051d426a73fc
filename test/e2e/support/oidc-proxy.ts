import { freePort } from '../../integration/support/free-port.js'
import { type DevProvider, startDevProvider } from '../../integration/support/oidc-provider.js'
import { startProxy, type TestProxy } from '../../integration/support/proxy.js'
import { fixture, readFixture } from '../../integration/support/tls-client.js'

export interface OidcProxy {
  readonly idp: DevProvider
  readonly proxy: TestProxy
  /** https://localhost:<port>, the name the certificate carries. */
  readonly publicUrl: string
  /** The test CA's leaf that the proxy and the provider both present: what Chromium is told to trust. */
  readonly leafPem: string
  close(): Promise<void>
}

/**
 * flink-guard in front of `upstreamUrl` with TLS and auth.oidc against the dev provider, whose `alice` is an
 * operator and `bob` a viewer (DEV_ACCOUNTS' groups mapped by authz.roles).
 */
export async function startOidcProxy(upstreamUrl: string, clientId: string): Promise<OidcProxy> {
  const clientSecret = `client-secret-of-${clientId}`
  const port = await freePort()
  const publicUrl = `https://localhost:${port}`
  const leaf = readFixture('rest.signed.pem')
  const idp = await startDevProvider({
    tls: { key: leaf, cert: leaf },
    clients: [{ clientId, clientSecret, publicUrl }],
  })
  const proxy = await startProxy(upstreamUrl, {
    listen: { host: '127.0.0.1', port },
    tls: { cert: fixture('rest.signed.pem'), key: fixture('rest.signed.pem') },
    auth: {
      oidc: {
        issuer: idp.issuer,
        clientId,
        clientSecret,
        publicUrl,
        cookieSecret: 'e2e-cookie-secret-0123456789abcdef0123456789',
        caFile: fixture('ca.pem'),
        scopes: ['openid', 'profile', 'email', 'groups'],
      },
    },
    authz: { roles: { 'flink-operators': 'operator', 'flink-viewers': 'viewer' } },
  }).catch(async (err) => {
    await idp.close()
    throw err
  })
  return {
    idp,
    proxy,
    publicUrl,
    leafPem: leaf.toString('utf8'),
    close: async () => {
      await proxy.close(1_000)
      await idp.close()
    },
  }
}
