import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface, type Interface } from 'node:readline'
import { fileURLToPath } from 'node:url'

/**
 * A real Apache Hadoop YARN: yarn-it/'s MiniYarn (a MiniYARNCluster from hadoop-client-minicluster, one
 * ResourceManager with its embedded web proxy, on 127.0.0.1) in its own JVM, driven over stdin. Applications
 * are of type Apache Flink with unmanaged application masters that register as Flink's
 * YarnResourceManagerDriver does: host and "RPC port" = the Flink REST URL's, tracking URL = that URL.
 */

export const YARN_IT_DIR = fileURLToPath(new URL('../../../yarn-it/', import.meta.url))
/** The Hadoop line yarn-it builds by default (the 3.4 line's RM REST API is broken on Java 17). */
export const HADOOP_VERSION = '3.5.0'
/** Guice's cglib (the RM's web app) defines classes reflectively. */
const JAVA_17_OPTS = [
  '--add-opens=java.base/java.lang=ALL-UNNAMED',
  '--add-opens=java.base/java.util=ALL-UNNAMED',
  '--add-opens=java.base/java.lang.reflect=ALL-UNNAMED',
]
const START_TIMEOUT_MS = 120_000
const COMMAND_TIMEOUT_MS = 70_000
const STOP_GRACE_MS = 10_000

/** Builds yarn-it with Maven (again only when its pom or sources are newer than the jar); its classpath. */
export function buildYarnIt(): string {
  const target = join(YARN_IT_DIR, 'target', `hadoop-${HADOOP_VERSION}`)
  const jar = join(target, 'yarn-it.jar')
  const classpathFile = join(target, 'classpath.txt')
  const sources = [
    'pom.xml',
    'src/main/java/flinkguard/yarn/MiniYarn.java',
    'src/main/resources/log4j.properties',
  ]
  const fresh =
    existsSync(jar) &&
    existsSync(classpathFile) &&
    sources.every((source) => statSync(join(YARN_IT_DIR, source)).mtimeMs <= statSync(jar).mtimeMs)
  if (!fresh) {
    const result = spawnSync('mvn', ['-q', '-B', 'package'], { cwd: YARN_IT_DIR, encoding: 'utf8' })
    if (result.error !== undefined || result.status !== 0) {
      throw new Error(
        `building yarn-it failed (needs Java 17 and Maven): ${result.error?.message ?? ''}${result.stdout}${result.stderr}`,
      )
    }
  }
  return `${readFileSync(classpathFile, 'utf8').trim()}:${jar}`
}

export interface MiniYarn {
  /** http://127.0.0.1:<port>: the RM's web address (REST API under /ws/v1, YARN's proxy under /proxy/). */
  readonly rmUrl: string
  /** Milliseconds from spawning the JVM to the RM serving. */
  readonly startupMs: number
  /** A new application of type Apache Flink, ACCEPTED, its AM not yet registered: its id. */
  submit(): Promise<string>
  /** Registers the application's AM for the Flink at restUrl (the app becomes RUNNING). */
  register(appId: string, restUrl: string): Promise<void>
  /** Unregisters the AM with SUCCEEDED; resolves once the RM reports FINISHED. */
  finish(appId: string): Promise<void>
  /** The JVM's resident memory in KiB. */
  rssKiB(): number
  stop(): Promise<void>
}

export async function startMiniYarn(): Promise<MiniYarn> {
  const classpath = buildYarnIt()
  const workDir = mkdtempSync(join(tmpdir(), 'fg-yarn-'))
  const stderr = openSync(join(workDir, 'yarn.stderr'), 'a')
  const started = Date.now()
  // cwd: MiniYARNCluster keeps its directories under ./target/.
  const child = spawn('java', [...JAVA_17_OPTS, '-cp', classpath, 'flinkguard.yarn.MiniYarn'], {
    cwd: workDir,
    stdio: ['pipe', 'pipe', stderr],
  })
  closeSync(stderr)
  process.once('exit', () => child.kill('SIGKILL'))
  const lines = createInterface({ input: child.stdout! })
  const stop = () => stopJvm(child)
  try {
    const rm = await nextLine(lines, child, START_TIMEOUT_MS, workDir)
    if (!rm.startsWith('rm ')) throw new Error(`MiniYarn did not start: ${rm}; see ${workDir}/yarn.stderr`)
    const startupMs = Date.now() - started
    // One command at a time: each answer is the next line.
    let queue = Promise.resolve('')
    const command = (text: string, answer: string): Promise<string> => {
      const result = queue.then(async () => {
        child.stdin!.write(`${text}\n`)
        const line = await nextLine(lines, child, COMMAND_TIMEOUT_MS, workDir)
        if (!line.startsWith(`${answer} `)) throw new Error(`MiniYarn ${text}: ${line}`)
        return line.slice(answer.length + 1)
      })
      queue = result.catch(() => '')
      return result
    }
    return {
      rmUrl: rm.slice(3),
      startupMs,
      submit: () => command('submit', 'submitted'),
      register: async (appId, restUrl) => {
        await command(`register ${appId} ${restUrl}`, 'registered')
      },
      finish: async (appId) => {
        await command(`finish ${appId}`, 'finished')
      },
      rssKiB: () =>
        Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? 0),
      stop,
    }
  } catch (err) {
    await stop()
    throw err
  }
}

function nextLine(
  lines: Interface,
  child: ChildProcess,
  timeoutMs: number,
  workDir: string,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => done(new Error(`MiniYarn gave no answer in ${timeoutMs} ms; see ${workDir}`)),
      timeoutMs,
    )
    const onLine = (line: string) => done(null, line)
    const onExit = () => done(new Error(`MiniYarn exited; see ${workDir}/yarn.stderr`))
    function done(err: Error | null, line = '') {
      clearTimeout(timer)
      lines.off('line', onLine)
      child.off('exit', onExit)
      if (err === null) resolve(line)
      else reject(err)
    }
    lines.once('line', onLine)
    child.once('exit', onExit)
  })
}

async function stopJvm(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  // EOF on stdin stops the cluster cleanly; SIGKILL after a grace period.
  child.stdin!.end()
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS)
  await exited
  clearTimeout(timer)
}
