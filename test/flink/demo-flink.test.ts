import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { Agent, request } from 'undici'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { eventually } from '../integration/support/eventually.js'
import { freePort } from '../integration/support/free-port.js'

/**
 * `npm run demo:flink` as a user runs it: started as a child process in a fresh directory, its printed URL,
 * login, curl line and Flink CLI line are used as printed (the lines through a shell), and a SIGINT to the
 * demo alone stops the proxy and the Flink JVMs it started.
 */

const REPO = fileURLToPath(new URL('../../', import.meta.url))
const READY_TIMEOUT_MS = 240_000
const STOP_TIMEOUT_MS = 30_000
const sh = promisify(execFile)

let demo: ChildProcess
let exited: Promise<number | null>
let output = ''
let home: string
/** The demo's process tree once it is ready: the tsx runner, node, the JobManager and TaskManager JVMs. */
let started: number[] = []

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), 'fg-demo-flink-'))
  const port = await freePort()
  demo = spawn(join(REPO, 'node_modules/.bin/tsx'), [join(REPO, 'scripts/demo-flink.ts')], {
    cwd: home,
    env: { ...process.env, FG_DEMO_PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  exited = new Promise((resolve) => demo.once('exit', resolve))
  demo.stdout!.on('data', (chunk) => {
    output += chunk
  })
  demo.stderr!.on('data', (chunk) => {
    output += chunk
  })
  let gone = false
  void exited.then(() => {
    gone = true
  })
  await eventually(() => gone || output.includes('Press Ctrl-C to stop.'), READY_TIMEOUT_MS)
  if (gone) throw new Error(`demo:flink exited while starting:\n${output}`)
  started = [demo.pid!, ...descendants(demo.pid!)]
}, READY_TIMEOUT_MS)

afterAll(async () => {
  // Only when a test failed to stop it: end what the demo started, by pid (orphans included).
  for (const pid of started.filter(alive)) process.kill(pid, 'SIGKILL')
})

function printed(pattern: RegExp): string[] {
  const match = pattern.exec(output)
  if (match === null) throw new Error(`demo:flink did not print ${pattern}:\n${output}`)
  return match.slice(1)
}

/** The processes below `pid`, from /proc (children first found, then theirs). */
function descendants(pid: number): number[] {
  const parents = new Map<number, number>()
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    try {
      // /proc/<pid>/stat: "pid (comm) state ppid ..."; comm may hold spaces and parentheses.
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8')
      parents.set(Number(name), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]))
    } catch {}
  }
  const found: number[] = []
  const queue = [pid]
  while (queue.length > 0) {
    const parent = queue.shift()!
    for (const [child, ppid] of parents) {
      if (ppid === parent) {
        found.push(child)
        queue.push(child)
      }
    }
  }
  return found
}

/** Whether `pid` runs; a zombie (dead, not yet reaped by its parent) holds nothing and counts as gone. */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z'
  } catch {
    return false
  }
}

const commandLine = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ')
  } catch {
    return ''
  }
}

it('prints a URL and a login that list the running job over verified TLS, and refuses without them', async () => {
  const [url] = printed(/flink-guard proxy:\s+(https:\/\/localhost:\d+)\//)
  const [user, password] = printed(/Log in as "([^"]+)" with password "([^"]+)"/)
  const [jobId] = printed(/running job:\s+([0-9a-f]{32})/)
  const dispatcher = new Agent({ connect: { ca: readFileSync(join(home, '.flink-guard/tls/ca.pem')) } })
  try {
    const get = async (authorization?: string) => {
      const response = await request(`${url}/jobs/overview`, {
        dispatcher,
        headers: authorization === undefined ? {} : { authorization },
      })
      return { status: response.statusCode, body: await response.body.text() }
    }
    const basic = (secret: string) => `Basic ${Buffer.from(`${user}:${secret}`).toString('base64')}`
    const listed = await get(basic(password!))
    expect(listed.status).toBe(200)
    expect(JSON.parse(listed.body).jobs).toContainEqual(
      expect.objectContaining({ jid: jobId, name: 'flink-guard-endless', state: 'RUNNING' }),
    )
    expect((await get()).status).toBe(401)
    expect((await get(basic(`${password}x`))).status).toBe(401)
  } finally {
    await dispatcher.close()
  }
})

it('prints a curl line and a Flink CLI line that work when pasted into a shell', async () => {
  const [jobId] = printed(/running job:\s+([0-9a-f]{32})/)
  const [url] = printed(/flink-guard proxy:\s+(https:\/\/localhost:\d+)\//)
  const [curlLine] = printed(/^ {2}(curl .*\/jobs\/overview)$/m)
  const [cliLine] = printed(/^The Flink CLI through flink-guard.*\n {2}(.+)$/m)
  expect(cliLine).toContain(`list -m ${url}`)

  // curl's line names the CA relative to where the demo runs; the CLI line works from anywhere.
  const curl = await sh('sh', ['-c', curlLine!], { cwd: home })
  expect(JSON.parse(curl.stdout).jobs).toContainEqual(
    expect.objectContaining({ jid: jobId, state: 'RUNNING' }),
  )
  const env = { ...process.env }
  delete env.FLINK_CONF_DIR
  delete env.FLINK_REST_CLIENT_HEADERS
  const cli = await sh('sh', ['-c', cliLine!], { cwd: tmpdir(), env, timeout: 120_000 })
  expect(cli.stdout).toContain(`: ${jobId} : flink-guard-endless (RUNNING)`)
})

it('stops on SIGINT to the demo alone: exit 0, the proxy closed, the JobManager and TaskManager JVMs gone', async () => {
  const [url] = printed(/flink-guard proxy:\s+(https:\/\/localhost:\d+)\//)
  const tree = descendants(demo.pid!)
  const jvms = tree.filter((pid) =>
    /StandaloneSessionClusterEntrypoint|TaskManagerRunner/.test(commandLine(pid)),
  )
  expect(jvms).toHaveLength(2)

  demo.kill('SIGINT')
  await expect(
    Promise.race([exited, new Promise((resolve) => setTimeout(() => resolve('timeout'), STOP_TIMEOUT_MS))]),
  ).resolves.toBe(0)
  await eventually(() => tree.every((pid) => !alive(pid)), STOP_TIMEOUT_MS)
  await expect(
    request(`${url}/`, { dispatcher: new Agent({ connect: { timeout: 2_000 } }) }),
  ).rejects.toThrow()
})
