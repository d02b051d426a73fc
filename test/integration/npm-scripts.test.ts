import { type ChildProcess, spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { assertBuilt, writeConfig } from './support/cli.js'
import { eventually } from './support/eventually.js'
import { freePort, listening } from './support/free-port.js'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))

/**
 * `npm run <script>` as a user runs it. `--ignore-scripts` skips only the pre-script (`prestart` builds;
 * `npm test` has built already), never the script itself.
 */
function npmRun(script: string, args: string[], env: NodeJS.ProcessEnv): ChildProcess {
  return spawn('npm', ['run', '--silent', '--ignore-scripts', script, '--', ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
}

describe('stopping an npm script by npm’s own process id stops the servers it started', () => {
  it.each([
    {
      script: 'start',
      prepare: async () => {
        const ports = { proxy: await freePort(), upstream: await freePort() }
        const config = readFileSync(`${ROOT}config/quickstart.yaml`, 'utf8')
          .replace('port: 8443', `port: ${ports.proxy}`)
          .replace('port: 9250', 'port: 0')
          .replace('127.0.0.1:18081', `127.0.0.1:${ports.upstream}`)
        return { ports, args: ['--config', writeConfig(config)], env: {} }
      },
      ready: /flink-guard demo is running/,
    },
    {
      script: 'demo:oidc',
      prepare: async () => {
        const ports = { proxy: await freePort(), upstream: await freePort() }
        return {
          ports,
          args: [],
          env: { FG_DEMO_PORT: String(ports.proxy), FG_DEMO_IDP_PORT: String(ports.upstream) },
        }
      },
      ready: /Open https:\/\/localhost:\d+\//,
    },
  ])(
    'npm run $script, then SIGTERM to npm',
    async ({ script, prepare, ready }) => {
      assertBuilt()
      const { ports, args, env } = await prepare()
      const npm = npmRun(script, args, env)
      let output = ''
      npm.stdout!.on('data', (chunk) => {
        output += chunk
      })
      npm.stderr!.on('data', (chunk) => {
        output += chunk
      })
      const exited = new Promise<number | null>((resolve) => npm.once('exit', (code) => resolve(code)))
      try {
        await eventually(() => ready.test(output), 30_000).catch(() => {
          throw new Error(`npm run ${script} did not start:\n${output}`)
        })
        expect(await listening(ports.proxy)).toBe(true)
        expect(await listening(ports.upstream)).toBe(true)

        npm.kill('SIGTERM')
        await exited
        // Nothing is left behind on either port: the signal reached the servers' process.
        await eventually(
          async () => !(await listening(ports.proxy)) && !(await listening(ports.upstream)),
          10_000,
        )
      } finally {
        npm.kill('SIGKILL')
      }
    },
    60_000,
  )
})
