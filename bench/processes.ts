import { type ChildProcess, spawn } from 'node:child_process'
import { join } from 'node:path'
import { fetch, type RequestInit } from 'undici'
import { generateCertificates } from '../src/tls/gen-certs.js'

/** The server under test gets core 0; the load generator, the stand-in and helpers share core 1 (bench/README.md). */
export const PROXY_CORE = '0'
export const LOAD_CORE = '1'
/** The password of the generated keystores and truststores. */
export const STORE_PASSWORD = 'changeit'

/**
 * The processes a benchmark starts, each pinned to a core with taskset and leading its own process group (so
 * NGINX's workers and npx's grandchildren go with it); all killed when the benchmark exits, however it exits.
 */
export class PinnedProcesses {
  readonly #children: ChildProcess[] = []

  constructor() {
    process.on('exit', () => this.stopAll())
    process.on('SIGINT', () => process.exit(130))
  }

  start(command: string, argv: string[], core: string, stdout: 'pipe' | 'ignore' = 'pipe'): ChildProcess {
    const child = spawn('taskset', ['-c', core, command, ...argv], {
      stdio: ['ignore', stdout, 'inherit'],
      detached: true,
    })
    this.#children.push(child)
    return child
  }

  /** Stops one and waits for it to exit (a profiled Node server writes its profile then). */
  async stop(child: ChildProcess): Promise<void> {
    this.#children.splice(this.#children.indexOf(child), 1)
    if (child.exitCode !== null || child.signalCode !== null) return
    const exited = new Promise((resolve) => child.once('exit', resolve))
    signalGroup(child, 'SIGTERM')
    const timer = setTimeout(() => signalGroup(child, 'SIGKILL'), 5000)
    await exited
    clearTimeout(timer)
  }

  stopAll(): void {
    for (const child of this.#children) signalGroup(child, 'SIGKILL')
  }
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-child.pid!, signal)
  } catch {}
}

/** Resolves once `url` answers below 500; throws after 15 s. */
export async function waitFor(url: string, init: RequestInit = {}): Promise<void> {
  const deadline = Date.now() + 15_000
  while (Date.now() < deadline) {
    try {
      if ((await fetch(url, init)).status < 500) return
    } catch {}
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`${url} did not come up`)
}

/** A CA, a server certificate for localhost and 127.0.0.1 and a client one, in `work`/certs: its path. */
export function benchCertificates(work: string): string {
  const certs = join(work, 'certs')
  generateCertificates({
    dir: certs,
    dns: ['localhost'],
    ips: ['127.0.0.1'],
    password: STORE_PASSWORD,
    clientName: 'bench',
    validityDays: 2,
  })
  return certs
}
