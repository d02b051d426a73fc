import { fileURLToPath } from 'node:url'
import { loadConfigFile } from '../config/load.js'
import { FlinkGuardError } from '../errors.js'
import { createLogger } from '../observability/logger.js'
import { startServer } from '../server.js'
import { startStandin } from '../standin/server.js'
import { parseOptions } from './args.js'
import { DEMO_STATE_DIR, demoCertificates, demoCredentials } from './demo-state.js'
import { onShutdownSignal } from './lifecycle.js'

export const QUICKSTART_CONFIG = fileURLToPath(new URL('../../config/quickstart.yaml', import.meta.url))

export const DEMO_HELP = `Usage: flink-guard demo [--config <file>] [--log-level <level>]

The quick start: runs the Flink REST stand-in on the port of upstream.url and flink-guard in front of
it, over HTTPS, then prints the URL to open and a curl line that works. On first start it generates
into .flink-guard/ a development CA with a certificate for localhost, and the demo user's password
(the proxy keeps only its bcrypt hash).

Options:
  --config <file>       the config (default: config/quickstart.yaml)
  --log-level <level>   (default: warn, so the printed lines stay readable)
  -h, --help            show this help`

export async function demo(argv: string[]): Promise<number> {
  const options = parseOptions(argv, { config: { type: 'string' }, 'log-level': { type: 'string' } })
  if (options.help) {
    process.stdout.write(`${DEMO_HELP}\n`)
    return 0
  }
  const user = await demoCredentials()
  demoCertificates()
  const { config } = loadConfigFile(options.config ?? QUICKSTART_CONFIG)
  const upstream = new URL(config.upstream?.url ?? 'about:blank')
  if (upstream.protocol !== 'http:' || !['127.0.0.1', 'localhost'].includes(upstream.hostname)) {
    throw new FlinkGuardError('FG_ERR_CLI_USAGE', {
      message: `the demo runs the stand-in itself, so upstream.url must be http://127.0.0.1:<port>, got ${config.upstream?.url ?? 'none'}`,
    })
  }
  const standin = await startStandin({ host: '127.0.0.1', port: Number(upstream.port) }).catch((err) => {
    // The same one line as a clash on the proxy's own port (server.ts), naming what to change.
    throw new FlinkGuardError('FG_ERR_LISTEN_FAILED', {
      message: `the Flink REST stand-in cannot listen on ${upstream.host} (the port of upstream.url): ${(err as Error).message}`,
      cause: err,
    })
  })
  const server = await startServer(config, createLogger(options['log-level'] ?? 'warn')).catch(
    async (err) => {
      await standin.close()
      throw err
    },
  )
  // The certificate names localhost: print the URL a browser and curl will verify.
  const publicUrl = server.proxyUrl.replace('//127.0.0.1:', '//localhost:')
  process.stdout.write(
    [
      'flink-guard demo is running.',
      `  Flink REST stand-in (upstream): ${standin.url}`,
      `  flink-guard proxy:              ${publicUrl}/`,
      `  admin (health, readiness):      ${server.adminUrl}/readyz`,
      '',
      `Log in as "${user.user}" with password "${user.password}" (generated on first start; kept in ${DEMO_STATE_DIR}/).`,
      `The certificate is signed by a development CA made on first start: ${DEMO_STATE_DIR}/tls/ca.pem`,
      'Try:',
      `  curl -s --cacert ${DEMO_STATE_DIR}/tls/ca.pem -u ${user.user}:${user.password} ${publicUrl}/overview`,
      `  curl -s --cacert ${DEMO_STATE_DIR}/tls/ca.pem ${publicUrl}/overview    # no credentials: 401`,
      '',
      'Press Ctrl-C to stop.',
      '',
    ].join('\n'),
  )
  onShutdownSignal(async () => {
    await server.close()
    await standin.close()
    return 0
  })
  return new Promise<number>(() => {})
}
