import { spawn } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { stringify } from 'yaml'
import type { FlinkBuild } from './flink.js'

/**
 * The real `flink` command: org.apache.flink.client.cli.CliFrontend from flink-clients, on the classpath the
 * flink-it module resolves, with FLINK_CONF_DIR pointing at a config.yaml of the client's own (no flink-dist).
 */
export interface FlinkCliResult {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

export interface FlinkCli {
  readonly confDir: string
  run(args: readonly string[], env?: NodeJS.ProcessEnv): Promise<FlinkCliResult>
}

const CLI_TIMEOUT_MS = 120_000

/** The `java` arguments that make the `flink` command: its Java 17 options, the classpath, CliFrontend. */
export function cliJavaArgs(build: FlinkBuild): string[] {
  return javaArgs(build, 'org.apache.flink.client.cli.CliFrontend')
}

/** A client main class with the CLI's Java 17 options, on Flink's classpath and flink-it.jar. */
function javaArgs(build: FlinkBuild, mainClass: string): string[] {
  return [
    '--add-opens=java.base/java.lang=ALL-UNNAMED',
    '--add-opens=java.base/java.util=ALL-UNNAMED',
    '-cp',
    `${build.classpath}:${build.jobJar}`,
    mainClass,
  ]
}

/** A CLI with its own config.yaml: `config` holds the client's keys (TLS, rest.retry.*). */
export function flinkCli(build: FlinkBuild, config: Record<string, unknown> = {}): FlinkCli {
  const confDir = mkdtempSync(join(tmpdir(), 'fg-flink-cli-'))
  // One attempt: Flink's client retries 20 times, 3 s apart, by default (rest.retry.*).
  writeFileSync(join(confDir, 'config.yaml'), stringify({ 'rest.retry.max-attempts': 0, ...config }))
  return flinkCliIn(build, confDir)
}

/** A CLI reading an existing conf directory, e.g. the cluster's own (as a CLI on the JobManager's host). */
export function flinkCliIn(build: FlinkBuild, confDir: string): FlinkCli {
  return {
    confDir,
    run: (args, env = {}) =>
      runJava(build, 'org.apache.flink.client.cli.CliFrontend', args, { FLINK_CONF_DIR: confDir, ...env }),
  }
}

/** A main class on Flink's classpath and flink-it.jar, as a client process: its exit code and output. */
export function runJava(
  build: FlinkBuild,
  mainClass: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
  timeoutMs = CLI_TIMEOUT_MS,
): Promise<FlinkCliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('java', [...javaArgs(build, mainClass), ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk) => {
      stdout += chunk
    })
    child.stderr.on('data', (chunk) => {
      stderr += chunk
    })
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.once('error', reject)
    child.once('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
}
