import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { hashSync } from '@node-rs/bcrypt'
import { Agent, request } from 'undici'
import {
  type JwksServer,
  type SigningKey,
  signingKey,
  signToken,
  startJwksServer,
} from '../../integration/support/jwks-server.js'
import { startProxy, type TestProxy } from '../../integration/support/proxy.js'
import {
  fingerprintsOf,
  fixture,
  KEYSTORE_PASSWORD,
  TRUSTSTORE_PASSWORD,
} from '../../integration/support/tls-client.js'
import { type FlinkCluster, startFlinkCluster } from './flink.js'

/**
 * A real Flink behind flink-guard, both ends over TLS as a hardened deployment runs them:
 * - Flink's REST endpoint demands a client certificate and pins it by SHA-1 fingerprint
 *   (security.ssl.rest.authentication-enabled + security.ssl.rest.cert.fingerprint), so only flink-guard's
 *   upstream certificate gets in, checked by Flink's own SSL code;
 * - flink-guard listens with the test CA's leaf, authenticates basic (htpasswd), JWT (a real JWKS server) and
 *   client certificates (tls.clientAuth: request), and maps one role to each preset.
 */

export const ISSUER = 'https://idp.flink-guard.test'
export const AUDIENCE = 'flink-guard'
export const PASSWORD = 'correct horse battery staple'

/** Flink's REST TLS, server side: the CA-signed leaf, and only flink-guard's client certificate let in. */
export function flinkRestTls(pinnedClient: string): Record<string, unknown> {
  return {
    'security.ssl.rest.enabled': true,
    'security.ssl.rest.authentication-enabled': true,
    'security.ssl.rest.keystore': fixture('rest.signed.keystore'),
    'security.ssl.rest.keystore-password': KEYSTORE_PASSWORD,
    'security.ssl.rest.key-password': KEYSTORE_PASSWORD,
    'security.ssl.rest.truststore': fixture('ca.truststore'),
    'security.ssl.rest.truststore-password': TRUSTSTORE_PASSWORD,
    'security.ssl.rest.cert.fingerprint': pinnedClient,
  }
}

/** The roles each test identity carries, and the preset each role maps to. */
export const ROLE_PRESETS = {
  'flink-viewers': 'viewer',
  'flink-operators': 'operator',
  deployers: 'deployer',
  'flink-admins': 'admin',
} as const

export interface GuardedFlink {
  readonly flink: FlinkCluster
  readonly proxy: TestProxy
  /** https://localhost:<port>: the name on the proxy's certificate. */
  readonly proxyUrl: string
  readonly jwks: JwksServer
  /** A client of Flink itself, with the pinned certificate (to check what Flink really did). */
  readonly direct: Agent
  /** Trusts the test CA; for requests to the proxy. */
  readonly client: Agent
  bearer(groups: readonly string[], subject?: string): Promise<string>
  basic(user: string, password?: string): string
  /** A request to Flink directly, as JSON. */
  flinkJson<T>(path: string): Promise<T>
  close(): Promise<void>
}

export interface GuardedFlinkOptions {
  /** More config.yaml entries for Flink (e.g. the adaptive scheduler). */
  readonly flinkConfig?: Record<string, unknown>
  /** Replaces `auth.mtls` (by default: OUs as roles, no extra roles). */
  readonly mtls?: Record<string, unknown>
  /** `authz.profiles`. */
  readonly profiles?: Record<string, string>
}

export async function startGuardedFlink(options: GuardedFlinkOptions = {}): Promise<GuardedFlink> {
  // flink-guard's upstream identity: client.other (CA-signed), the one certificate Flink pins.
  const upstreamPem = readFileSync(fixture('client.other.pem'), 'utf8')
  const flink = await startFlinkCluster({
    config: { ...flinkRestTls(fingerprintsOf('client.other').sha1), ...options.flinkConfig },
    clientCert: { cert: upstreamPem, key: upstreamPem },
  })
  const key: SigningKey = await signingKey('k1', 'ES256')
  const jwks = await startJwksServer([key.publicJwk])
  const htpasswd = join(mkdtempSync(join(tmpdir(), 'fg-guarded-')), 'users.htpasswd')
  const hash = hashSync(PASSWORD, 5)
  writeFileSync(htpasswd, `vera:${hash}\nodin:${hash}\n`)
  const proxy = await startProxy(flink.restUrl, {
    listen: { host: '127.0.0.1', port: 0 },
    tls: {
      cert: fixture('rest.signed.pem'),
      key: fixture('rest.signed.pem'),
      clientAuth: 'request',
      truststore: fixture('ca.pem'),
    },
    auth: {
      mtls: options.mtls ?? {},
      jwt: { issuer: ISSUER, audience: AUDIENCE, jwksUri: jwks.jwksUri, rolesClaim: 'groups' },
      basic: { htpasswd, users: { vera: ['flink-viewers'], odin: ['flink-operators'] } },
    },
    authz: { roles: ROLE_PRESETS, profiles: options.profiles ?? {} },
    upstream: {
      tls: {
        truststore: fixture('ca.pem'),
        keystore: fixture('client.other.keystore'),
        keystorePassword: KEYSTORE_PASSWORD,
      },
    },
  })
  const proxyUrl = proxy.proxyUrl.replace('http://127.0.0.1', 'https://localhost')
  const direct = new Agent({
    connect: { ca: readFileSync(fixture('ca.pem')), cert: upstreamPem, key: upstreamPem },
  })
  const client = new Agent({ connect: { ca: readFileSync(fixture('ca.pem')) } })
  return {
    flink,
    proxy,
    proxyUrl,
    jwks,
    direct,
    client,
    bearer: (groups, subject = 'alice') =>
      signToken(key, { iss: ISSUER, aud: AUDIENCE, sub: subject, groups: [...groups] }).then(
        (token) => `Bearer ${token}`,
      ),
    basic: (user, password = PASSWORD) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`,
    flinkJson: async <T>(path: string) => {
      const response = await request(`${flink.restUrl}${path}`, { dispatcher: direct })
      if (response.statusCode !== 200) throw new Error(`Flink ${path}: ${response.statusCode}`)
      return (await response.body.json()) as T
    },
    close: async () => {
      await proxy.close(1_000)
      await jwks.close()
      await Promise.all([direct.close(), client.close()])
      await flink.stop()
    },
  }
}
