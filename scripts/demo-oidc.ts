/**
 * `npm run demo:oidc`: the OIDC quick start, for development only. A local OpenID provider (oidc-provider,
 * a dev dependency, with its development login page that accepts any name and password), the Flink REST
 * stand-in, and flink-guard in front of it with auth.oidc, all on 127.0.0.1 over HTTPS with the quick start's
 * development CA (.flink-guard/tls/, made on first start).
 */
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { DEMO_STATE_DIR, demoCertificates } from '../src/cli/demo-state.js'
import { onShutdownSignal } from '../src/cli/lifecycle.js'
import { validateConfig } from '../src/config/load.js'
import { createLogger } from '../src/observability/logger.js'
import { startServer } from '../src/server.js'
import { startStandin } from '../src/standin/server.js'
import { DEV_ACCOUNTS, startDevProvider } from '../test/integration/support/oidc-provider.js'

const PROXY_PORT = Number(process.env.FG_DEMO_PORT ?? 8443)
const PROVIDER_PORT = Number(process.env.FG_DEMO_IDP_PORT ?? 8444)
const PUBLIC_URL = `https://localhost:${PROXY_PORT}`
const CLIENT_ID = 'flink-guard-demo'

const ca = demoCertificates()
const tlsDir = join(DEMO_STATE_DIR, 'tls')
// Made fresh on every start: nothing leaves this process, and sessions end with it.
const clientSecret = randomBytes(24).toString('base64url')
const provider = await startDevProvider({
  tls: { key: readFileSync(join(tlsDir, 'server-key.pem')), cert: readFileSync(join(tlsDir, 'server.pem')) },
  clients: [{ clientId: CLIENT_ID, clientSecret, publicUrl: PUBLIC_URL }],
  port: PROVIDER_PORT,
})
const standin = await startStandin({ host: '127.0.0.1', port: 0 })
const { config } = validateConfig(
  {
    listen: { host: '127.0.0.1', port: PROXY_PORT },
    admin: { host: '127.0.0.1', port: 0 },
    tls: { cert: join(tlsDir, 'server.pem'), key: join(tlsDir, 'server-key.pem') },
    upstream: { url: standin.url },
    auth: {
      oidc: {
        issuer: provider.issuer,
        clientId: CLIENT_ID,
        clientSecret: '${env:FG_DEMO_CLIENT_SECRET}',
        publicUrl: PUBLIC_URL,
        cookieSecret: '${env:FG_DEMO_COOKIE_SECRET}',
        scopes: ['openid', 'profile', 'email', 'groups'],
        caFile: ca,
      },
    },
    authz: { roles: { 'flink-admins': 'admin', 'flink-operators': 'operator', 'flink-viewers': 'viewer' } },
  },
  'demo:oidc',
  { FG_DEMO_CLIENT_SECRET: clientSecret, FG_DEMO_COOKIE_SECRET: randomBytes(32).toString('base64url') },
)
const server = await startServer(config, createLogger(process.env.FG_DEMO_LOG_LEVEL ?? 'warn'))

const logins = Object.entries(DEV_ACCOUNTS).map(([login, groups]) => `"${login}" (${groups.join(', ')})`)
process.stdout.write(
  [
    'flink-guard OIDC demo is running (development only).',
    `  OpenID provider (oidc-provider): ${provider.issuer}`,
    `  Flink REST stand-in (upstream):  ${standin.url}`,
    `  flink-guard proxy:               ${PUBLIC_URL}/`,
    '',
    `Open ${PUBLIC_URL}/ and sign in at the provider's development login page: it accepts any login name`,
    `and any password. Logins with roles: ${logins.join(', ')}; any other name is a viewer.`,
    `Both servers use the development CA ${ca}: trust it in the browser, or accept the warning twice.`,
    `Sign out: ${PUBLIC_URL}/oauth2/logout`,
    '',
    'Press Ctrl-C to stop.',
    '',
  ].join('\n'),
)
onShutdownSignal(async () => {
  await server.close()
  await Promise.all([standin.close(), provider.close()])
  return 0
})
