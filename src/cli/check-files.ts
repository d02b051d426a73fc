import { HtpasswdError, HtpasswdFile } from '../auth/basic/htpasswd-file.js'
import { readKeyFiles } from '../auth/jwt/static-keys.js'
import { readCaFile } from '../auth/read-ca-file.js'
import { ConfigError } from '../config/load.js'
import type { Config } from '../config/schema.js'
import { upstreamConnector } from '../proxy/upstream-tls.js'
import { loadServerTls } from '../tls/server-tls.js'

const quiet = { info() {}, warn() {}, error() {} }

/**
 * Opens every local file a valid config names, with the loaders `serve` uses, so a wrong keystore password
 * or a bad htpasswd line shows at check time: one line a problem, none when all open. Nothing is fetched
 * from the network (JWKS and OIDC discovery are readiness checks at run time).
 */
export async function fileProblems(config: Readonly<Config>): Promise<string[]> {
  const checks: (() => unknown)[] = []
  if (config.tls !== undefined) checks.push(() => loadServerTls(config.tls!))
  if (config.upstream.url.startsWith('https:')) {
    checks.push(() => upstreamConnector(config.upstream.tls, config.upstream.timeouts.connectMs))
  }
  const { basic, jwt, oidc } = config.auth
  if (basic !== undefined) {
    checks.push(async () => {
      const file = new HtpasswdFile(basic.htpasswd, {
        allowWeakHashes: basic.allowWeakHashes,
        logger: quiet,
        onChange: () => {},
      })
      try {
        await file.start()
      } catch (err) {
        if (!(err instanceof HtpasswdError)) throw err
        throw new ConfigError(
          'auth.basic',
          err.problems.map((problem) => `"auth.basic.htpasswd": ${problem}`),
        )
      } finally {
        file.close()
      }
    })
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
