import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The built CLI: `npm test` builds before running the tests, so these exercise what users run. */
export const CLI = fileURLToPath(new URL('../../../dist/main.js', import.meta.url))

export function assertBuilt(): void {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run 'npm run build' (npm test does) first`)
}

export interface Finished {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

export interface RunningCli {
  child: ChildProcess
  stdout(): string
  stderr(): string
  finished: Promise<Finished>
  /** Resolves with the first match of `pattern` in stdout+stderr. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>
}

export function startCli(args: string[], env: NodeJS.ProcessEnv = {}, cwd?: string): RunningCli {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout!.on('data', (chunk) => {
    stdout += chunk
  })
  child.stderr!.on('data', (chunk) => {
    stderr += chunk
  })
  const finished = new Promise<Finished>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })),
  )
  const waitFor = async (pattern: RegExp, timeoutMs = 10_000) => {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const match = pattern.exec(stdout + stderr)
      if (match) return match
      if (child.exitCode !== null || Date.now() > deadline) {
        throw new Error(`no ${pattern} in output (exit ${child.exitCode}):\n${stdout}\n${stderr}`)
      }
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  }
  return { child, stdout: () => stdout, stderr: () => stderr, finished, waitFor }
}

export function runCli(args: string[], env: NodeJS.ProcessEnv = {}, cwd?: string): Promise<Finished> {
  return startCli(args, env, cwd).finished
}

export function writeConfig(yaml: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'fg-cli-')), 'flink-guard.yaml')
  writeFileSync(file, yaml)
  return file
}
