import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from '../../integration/support/free-port.js'

const READY = /Ready to accept connections/
const START_TIMEOUT_MS = 10_000

export interface RedisServer {
  readonly port: number
  readonly url: string
  /** Kills it hard (SIGKILL), as a crash or a lost node would. */
  kill(): Promise<void>
  /** Starts it again on the same port (an empty Redis: nothing is persisted). */
  restart(): Promise<void>
  stop(): Promise<void>
}

/** Debian's redis-server, or a clear failure: this suite never skips. */
function redisServerPath(): string {
  try {
    return execFileSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' }).trim()
  } catch {
    throw new Error(
      'redis-server is not installed: `apt-get install redis-server` (.ci/run does) to run npm run test:redis',
    )
  }
}

/** A redis-server of its own on 127.0.0.1 and a free port, in a temporary directory, with no persistence. */
export async function startRedis(): Promise<RedisServer> {
  const binary = redisServerPath()
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'fg-redis-'))
  let child: ChildProcess | null = null

  const launch = async () => {
    const started = spawn(
      binary,
      ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    )
    child = started
    let output = ''
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`redis-server not ready in ${START_TIMEOUT_MS} ms:\n${output}`)),
        START_TIMEOUT_MS,
      )
      const onData = (chunk: Buffer) => {
        output += chunk
        if (READY.test(output)) {
          clearTimeout(timer)
          resolve()
        }
      }
      started.stdout!.on('data', onData)
      started.stderr!.on('data', onData)
      started.once('exit', (code) => {
        clearTimeout(timer)
        reject(new Error(`redis-server exited (${code}):\n${output}`))
      })
    })
  }
  const end = async (signal: NodeJS.Signals) => {
    const running = child
    child = null
    if (running === null || running.exitCode !== null) return
    await new Promise<void>((resolve) => {
      running.once('exit', () => resolve())
      running.kill(signal)
    })
  }

  await launch()
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    kill: () => end('SIGKILL'),
    restart: launch,
    async stop() {
      await end('SIGTERM')
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
