import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import {
  closeSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Agent, request } from 'undici'
import { stringify } from 'yaml'
import { freePort } from '../../integration/support/free-port.js'

/**
 * A real Apache Flink session cluster for tests and the demo: Flink's own standalone entrypoints
 * (StandaloneSessionClusterEntrypoint and TaskManagerRunner, as flink-dist's scripts start them) in two JVMs
 * on 127.0.0.1, from a config.yaml written here, with the classpath the flink-it Maven module resolves
 * (flink-runtime-web carries the real dashboard). Two processes rather than a MiniCluster: the JobManager then
 * reads its configuration, serves its logs and shuts down on DELETE /cluster exactly as a deployed one does.
 */

export const FLINK_IT_DIR = fileURLToPath(new URL('../../../flink-it/', import.meta.url))
/** The Flink line under test: `FLINK_VERSION`, else the LTS the module defaults to. */
export const FLINK_VERSION = process.env.FLINK_VERSION ?? '1.20.5'

/** Flink's defaults for Java 17 (flink-dist's config.yaml, env.java.opts.all). */
const JAVA_17_OPTS = [
  '--add-exports=java.base/sun.net.util=ALL-UNNAMED',
  '--add-exports=java.rmi/sun.rmi.registry=ALL-UNNAMED',
  '--add-exports=java.security.jgss/sun.security.krb5=ALL-UNNAMED',
  '--add-opens=java.base/java.lang=ALL-UNNAMED',
  '--add-opens=java.base/java.net=ALL-UNNAMED',
  '--add-opens=java.base/java.io=ALL-UNNAMED',
  '--add-opens=java.base/java.nio=ALL-UNNAMED',
  '--add-opens=java.base/sun.nio.ch=ALL-UNNAMED',
  '--add-opens=java.base/java.lang.reflect=ALL-UNNAMED',
  '--add-opens=java.base/java.text=ALL-UNNAMED',
  '--add-opens=java.base/java.time=ALL-UNNAMED',
  '--add-opens=java.base/java.util=ALL-UNNAMED',
  '--add-opens=java.base/java.util.concurrent=ALL-UNNAMED',
  '--add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED',
  '--add-opens=java.base/java.util.concurrent.locks=ALL-UNNAMED',
]

const START_TIMEOUT_MS = 120_000
const STOP_GRACE_MS = 10_000

export interface FlinkBuild {
  readonly version: string
  /** Flink's runtime, dashboard and CLI jars, joined with ':'. */
  readonly classpath: string
  /** The test job (flinkguard.it.EndlessJob is its Main-Class) and the route lister. */
  readonly jobJar: string
}

/** Builds flink-it for `version` with Maven (once: again only when its sources are newer than the jar). */
export function buildFlinkIt(version = FLINK_VERSION): FlinkBuild {
  const target = join(FLINK_IT_DIR, 'target', `flink-${version}`)
  const jobJar = join(target, 'flink-it.jar')
  const classpathFile = join(target, 'classpath.txt')
  if (!isFresh(jobJar, classpathFile)) {
    const result = spawnSync('mvn', ['-q', '-B', 'package', `-Dflink.version=${version}`], {
      cwd: FLINK_IT_DIR,
      encoding: 'utf8',
    })
    if (result.error !== undefined || result.status !== 0) {
      throw new Error(
        `building flink-it for Flink ${version} failed (needs Java 17 and Maven): ` +
          `${result.error?.message ?? ''}${result.stdout}${result.stderr}`,
      )
    }
  }
  return { version, classpath: readFileSync(classpathFile, 'utf8').trim(), jobJar }
}

function isFresh(jar: string, classpathFile: string): boolean {
  if (!existsSync(jar) || !existsSync(classpathFile)) return false
  const built = statSync(jar).mtimeMs
  const sources = [join(FLINK_IT_DIR, 'pom.xml'), join(FLINK_IT_DIR, 'src/main/java/flinkguard/it')]
  return sources.every((path) => newestMtime(path) <= built)
}

function newestMtime(path: string): number {
  const stat = statSync(path)
  if (!stat.isDirectory()) return stat.mtimeMs
  return Math.max(stat.mtimeMs, ...readdirSync(path).map((name) => newestMtime(join(path, name))))
}

export interface FlinkClusterOptions {
  /** The Flink line (default: FLINK_VERSION), for a test written against one line's dashboard. */
  readonly version?: string
  /** Extra config.yaml entries (flat Flink keys), e.g. the security.ssl.rest.* options. */
  readonly config?: Record<string, unknown>
  /** Task slots on the one TaskManager. */
  readonly slots?: number
  /** Start no TaskManager (for tests that only need the JobManager's REST endpoint). */
  readonly taskManager?: boolean
  /** The file the config goes to: config.yaml, or flink-conf.yaml in 1.x's flat `key: value` format. */
  readonly file?: 'config.yaml' | 'flink-conf.yaml'
  /** More files for the conf directory, by name (e.g. a config.yaml beside flink-conf.yaml). */
  readonly files?: Readonly<Record<string, string>>
  /** The client certificate (PEM) the readiness check presents when Flink demands one. */
  readonly clientCert?: { readonly cert: string; readonly key: string }
}

export interface FlinkCluster {
  readonly build: FlinkBuild
  /** http(s)://127.0.0.1:<port>, the port from the JobManager's own "Rest endpoint listening at" line. */
  readonly restUrl: string
  readonly restPort: number
  /** The directory holding config.yaml (FLINK_CONF_DIR for the CLI). */
  readonly confDir: string
  readonly workDir: string
  readonly savepointDir: string
  readonly uploadDir: string
  /** Milliseconds from spawning the JobManager to the TaskManager's registration. */
  readonly startupMs: number
  /** The JobManager's and TaskManager's resident memory in KiB (from /proc), at the time of the call. */
  rssKiB(): { jobManager: number; taskManager: number | null }
  /** Ends both processes (SIGTERM, then SIGKILL after a grace period). */
  stop(): Promise<void>
  /** Resolves when the JobManager process has exited by itself (DELETE /cluster). */
  readonly jobManagerExited: Promise<number | null>
}

/** Starts a real Flink session cluster and resolves once its TaskManager has registered. */
export async function startFlinkCluster(options: FlinkClusterOptions = {}): Promise<FlinkCluster> {
  const build = buildFlinkIt(options.version)
  const workDir = mkdtempSync(join(tmpdir(), `fg-flink-${build.version}-`))
  const confDir = join(workDir, 'conf')
  const logDir = join(workDir, 'log')
  const savepointDir = join(workDir, 'savepoints')
  const uploadDir = join(workDir, 'web-upload')
  for (const dir of [confDir, logDir, savepointDir, uploadDir]) mkdirSync(dir, { recursive: true })
  cpSync(join(FLINK_IT_DIR, 'conf/log4j.properties'), join(confDir, 'log4j.properties'))
  const restPort = await freePort()
  const rpcPort = await freePort()
  const tls = options.config?.['security.ssl.rest.enabled'] === true
  const config: Record<string, unknown> = {
    'jobmanager.rpc.address': '127.0.0.1',
    'jobmanager.rpc.port': rpcPort,
    'jobmanager.bind-host': '127.0.0.1',
    'jobmanager.memory.process.size': '1024m',
    'taskmanager.bind-host': '127.0.0.1',
    'taskmanager.host': '127.0.0.1',
    'taskmanager.numberOfTaskSlots': options.slots ?? 4,
    'taskmanager.memory.process.size': '1280m',
    'rest.address': '127.0.0.1',
    'rest.bind-address': '127.0.0.1',
    'rest.port': restPort,
    'web.submit.enable': true,
    'web.cancel.enable': true,
    'web.upload.dir': uploadDir,
    'execution.checkpointing.savepoint-dir': `file://${savepointDir}`,
    'execution.checkpointing.dir': `file://${join(workDir, 'checkpoints')}`,
    'execution.checkpointing.interval': '2s',
    // One attempt: a test that expects a failure should not wait for retries.
    'rest.retry.max-attempts': 0,
    ...options.config,
  }
  // undefined drops one of the defaults above (e.g. rest.bind-address, to test its fallback keys).
  const file = options.file ?? 'config.yaml'
  writeFileSync(
    join(confDir, file),
    file === 'config.yaml'
      ? stringify(config)
      : Object.entries(config)
          .filter(([, value]) => value !== undefined)
          .map(([key, value]) => `${key}: ${value}\n`)
          .join(''),
  )
  for (const [name, text] of Object.entries(options.files ?? {})) writeFileSync(join(confDir, name), text)
  const started = Date.now()
  const jobManager = startJvm(
    build,
    'JM',
    'org.apache.flink.runtime.entrypoint.StandaloneSessionClusterEntrypoint',
    confDir,
    logDir,
  )
  const jobManagerExited = new Promise<number | null>((resolve) => jobManager.once('exit', resolve))
  const taskManager =
    options.taskManager === false
      ? null
      : startJvm(build, 'TM', 'org.apache.flink.runtime.taskexecutor.TaskManagerRunner', confDir, logDir)
  const cluster: FlinkCluster = {
    build,
    restUrl: '',
    restPort: 0,
    confDir,
    workDir,
    savepointDir,
    uploadDir,
    startupMs: 0,
    jobManagerExited,
    rssKiB: () => ({
      jobManager: rssOf(jobManager),
      taskManager: taskManager === null ? null : rssOf(taskManager),
    }),
    stop: async () => {
      await Promise.all([stopJvm(jobManager), taskManager === null ? undefined : stopJvm(taskManager)])
    },
  }
  try {
    const listening = await listeningPort(join(logDir, 'flink-jobmanager.log'), jobManagerExited)
    const ready = {
      ...cluster,
      restPort: listening,
      restUrl: `${tls ? 'https' : 'http'}://127.0.0.1:${listening}`,
    }
    await waitUntilReady(ready, taskManager === null ? 0 : 1, jobManagerExited, logDir, options.clientCert)
    return { ...ready, startupMs: Date.now() - started }
  } catch (err) {
    await cluster.stop()
    throw err
  }
}

/** The port in RestServerEndpoint's "Rest endpoint listening at <host>:<port>" line: where Flink really listens. */
async function listeningPort(log: string, exited: Promise<number | null>): Promise<number> {
  let gone = false
  void exited.then(() => {
    gone = true
  })
  const deadline = Date.now() + START_TIMEOUT_MS
  while (Date.now() < deadline && !gone) {
    const text = existsSync(log) ? readFileSync(log, 'utf8') : ''
    const port = /Rest endpoint listening at [^\s]+:(\d+)/.exec(text)?.[1]
    if (port !== undefined) return Number(port)
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
  throw new Error(`the JobManager never said where its REST endpoint listens; see ${log}`)
}

const running = new Set<ChildProcess>()
// A test runner that dies must not leave JVMs behind.
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL')
})

function startJvm(
  build: FlinkBuild,
  role: 'JM' | 'TM',
  mainClass: string,
  confDir: string,
  logDir: string,
): ChildProcess {
  const { jvmArgs, dynamicArgs } = resourceParams(build, role, confDir)
  // stderr to a file: an unread pipe would block the JVM once 64 KiB are written (a long-running demo).
  const stderr = openSync(join(logDir, `${role}.stderr`), 'a')
  const child = spawn(
    'java',
    [
      ...JAVA_17_OPTS,
      ...jvmArgs,
      `-Dlog.file=${join(logDir, `flink-${role === 'JM' ? 'jobmanager' : 'taskmanager'}.log`)}`,
      `-Dlog4j.configurationFile=file:${join(confDir, 'log4j.properties')}`,
      '-cp',
      `${build.classpath}:${build.jobJar}`,
      mainClass,
      '--configDir',
      confDir,
      ...dynamicArgs,
    ],
    { stdio: ['ignore', 'ignore', stderr] },
  )
  closeSync(stderr)
  running.add(child)
  child.once('exit', () => running.delete(child))
  return child
}

/**
 * The JVM sizes and derived memory options, worked out by Flink's own BashJavaUtils as flink-dist's
 * jobmanager.sh and taskmanager.sh do (the TaskManager refuses to start without them).
 */
function resourceParams(build: FlinkBuild, role: 'JM' | 'TM', confDir: string) {
  const result = spawnSync(
    'java',
    [
      '-cp',
      build.classpath,
      'org.apache.flink.runtime.util.bash.BashJavaUtils',
      `GET_${role}_RESOURCE_PARAMS`,
      '--configDir',
      confDir,
    ],
    { encoding: 'utf8' },
  )
  const lines = result.stdout
    .split('\n')
    .filter((line) => line.startsWith('BASH_JAVA_UTILS_EXEC_RESULT:'))
    .map((line) => line.slice('BASH_JAVA_UTILS_EXEC_RESULT:'.length).trim())
  if (result.status !== 0 || lines.length < 2) {
    throw new Error(`BashJavaUtils GET_${role}_RESOURCE_PARAMS failed: ${result.stdout}${result.stderr}`)
  }
  return { jvmArgs: lines[0]!.split(' '), dynamicArgs: lines[1]!.split(' ') }
}

async function stopJvm(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS)
  await exited
  clearTimeout(timer)
}

function rssOf(child: ChildProcess): number {
  try {
    const status = readFileSync(`/proc/${child.pid}/status`, 'utf8')
    return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0)
  } catch {
    return 0
  }
}

/** Polls the JobManager's /overview (Flink's own CA is not needed: readiness is checked over the JVM's port). */
async function waitUntilReady(
  cluster: FlinkCluster,
  taskManagers: number,
  exited: Promise<number | null>,
  logDir: string,
  clientCert: FlinkClusterOptions['clientCert'],
): Promise<void> {
  let gone: number | null | undefined
  void exited.then((code) => {
    gone = code
  })
  const deadline = Date.now() + START_TIMEOUT_MS
  while (Date.now() < deadline) {
    if (gone !== undefined) throw new Error(`the JobManager exited (${gone}) while starting; see ${logDir}`)
    const overview = await overviewOf(cluster.restUrl, clientCert).catch(() => null)
    if (overview !== null && overview.taskmanagers >= taskManagers) return
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
  throw new Error(`Flink did not become ready within ${START_TIMEOUT_MS} ms; see ${logDir}`)
}

async function overviewOf(
  restUrl: string,
  clientCert: FlinkClusterOptions['clientCert'],
): Promise<{ taskmanagers: number }> {
  // Readiness only: over TLS the harness talks to the same port with verification off, since the test's own
  // client trusts Flink's CA explicitly where it matters.
  const dispatcher = new Agent({ connect: { rejectUnauthorized: false, ...clientCert } })
  try {
    const response = await request(`${restUrl}/overview`, { dispatcher })
    if (response.statusCode !== 200) {
      await response.body.dump()
      throw new Error(`status ${response.statusCode}`)
    }
    return (await response.body.json()) as { taskmanagers: number }
  } finally {
    await dispatcher.close()
  }
}
