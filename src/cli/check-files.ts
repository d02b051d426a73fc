import { BasicAuthenticator } from '../auth/basic/authenticator.js'
import { readKeyFiles } from '../auth/jwt/static-keys.js'
import { readCaFile } from '../auth/read-ca-file.js'
import { ConfigError } from '../config/load.js'
import type { Config } from '../config/schema.js'
import { upstreamConnector } from '../proxy/upstream-tls.js'
import { loadServerTls } from '../tls/server-tls.js'
import { staticUpstreams } from '../upstream/static-upstreams.js'

const quiet = { info() {}, warn() {}, error() {} }

/**
 * Opens every local file a valid config names, with the loaders `serve` uses, so a wrong keystore password
 * or a bad htpasswd line shows at check time: one line a problem, none when all open. Nothing is fetched
 * from the network (JWKS and OIDC discovery are readiness checks at run time).
 */
export async function fileProblems(config: Readonly<Config>): Promise<string[]> {
  const checks: (() => unknown)[] = []
  if (config.tls !== undefined) checks.push(() => loadServerTls(config.tls!))
  // As the forwarder decides whether it needs a TLS connector (forward.ts), for every upstream named.
  for (const upstream of staticUpstreams(config)) {
    if (new URL(upstream.url).protocol === 'https:') {
      checks.push(() => upstreamConnector(upstream.tls, upstream.timeouts.connectMs))
    }
  }
  const { basic, jwt, oidc } = config.auth
  if (basic !== undefined) {
    // The authenticator's own start: it reads the file and reports bad lines as auth.basic problems.
    checks.push(async () => (await BasicAuthenticator.create(basic, { logger: quiet })).close())
  }
  if (jwt?.keyFiles !== undefined) checks.push(() => readKeyFiles(jwt.keyFiles!))
  if (jwt?.caFile !== undefined) checks.push(() => readCaFile(jwt.caFile!, 'auth.jwt'))
  if (oidc?.caFile !== undefined) checks.push(() => readCaFile(oidc.caFile!, 'auth.oidc'))

  const problems: string[] = []
  for (const check of checks) {
    try {
      await check()
    } catch (err) {
      if (err instanceof ConfigError) problems.push(...err.problems)
      else problems.push((err as Error).message)
    }
  }
  return problems
}
