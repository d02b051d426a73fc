import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { nginxArgs } from '../../../bench/nginx.js'
import { eventually } from '../../integration/support/eventually.js'
import { freePort, listening } from '../../integration/support/free-port.js'

export interface RunningNginx {
  /** http://127.0.0.1:<port> of the one server block. */
  readonly url: string
  stop(): Promise<void>
}

/**
 * Debian's NGINX (installed by .ci/run) in the foreground, unprivileged, with one `server` on a free loopback
 * port holding `locations`; `http` adds upstream blocks. Fails with NGINX's own error log when it cannot start.
 */
export async function startNginx(locations: string, http = ''): Promise<RunningNginx> {
  const probe = spawnSync('nginx', ['-v'], { encoding: 'utf8' })
  if (probe.error !== undefined)
    throw new Error(`NGINX is needed (.ci/run installs Debian's nginx): ${probe.error.message}`)
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'fg-nginx-'))
  const args = nginxArgs(dir, `${http}\n  server {\n    listen 127.0.0.1:${port};\n${locations}\n  }`)
  const child: ChildProcess = spawn('nginx', args, { stdio: 'ignore' })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  try {
    await eventually(async () => {
      if (child.exitCode !== null)
        throw new Error(`NGINX exited: ${readFileSync(join(dir, 'error.log'), 'utf8')}`)
      return listening(port)
    }, 10_000)
  } catch (err) {
    child.kill('SIGKILL')
    throw err
  }
  return {
    url: `http://127.0.0.1:${port}`,
    async stop() {
      child.kill('SIGQUIT')
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5_000))])
      child.kill('SIGKILL')
    },
  }
}
