import { startStandin } from '../standin/server.js'
import { parseOptions, portOption } from './args.js'
import { onShutdownSignal } from './lifecycle.js'

export const STANDIN_PORT_DEFAULT = 8081

export const STANDIN_HELP = `Usage: flink-guard standin [--port <n>] [--host <addr>]

Runs the Flink REST stand-in: a small fake JobManager REST endpoint that follows Flink's REST API
specification (docs/flink-rest/), for demos, tests and benchmarks. It is not Flink.

Options:
  --port <n>      port to listen on (default: ${STANDIN_PORT_DEFAULT}; 0 picks a free one)
  --host <addr>   address to listen on (default: 127.0.0.1)
  -h, --help      show this help`

export async function standin(argv: string[]): Promise<number> {
  const options = parseOptions(argv, { port: { type: 'string' }, host: { type: 'string' } })
  if (options.help) {
    process.stdout.write(`${STANDIN_HELP}\n`)
    return 0
  }
  const running = await startStandin({
    host: options.host ?? '127.0.0.1',
    port: portOption(options.port, 'port', STANDIN_PORT_DEFAULT),
  })
  process.stdout.write(`Flink REST stand-in listening on ${running.url}\n`)
  onShutdownSignal(async () => {
    await running.close()
    return 0
  })
  return new Promise<number>(() => {})
}
