import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { hashSync } from '@node-rs/bcrypt'
import { Agent, request } from 'undici'
import { type RunningCli, startCli, writeConfig } from './cli.js'
import { connectFrom } from './local-address.js'

const STARTED = /^.*"msg":"flink-guard started".*$/m

/** A `flink-guard serve` process (one or a process group) started from a config body, with its URLs and pids. */
export interface ServeProcess {
  readonly cli: RunningCli
  readonly file: string
  readonly proxyUrl: string
  readonly adminUrl: string
  /** The workers' pids as the primary logged them at start (empty for one process). */
  readonly pids: number[]
}

export async function startServe(yaml: string): Promise<ServeProcess> {
  const file = writeConfig(yaml)
  const cli = startCli(['serve', '--config', file])
  const [line] = await cli.waitFor(STARTED, 20_000)
  const started = JSON.parse(line) as { proxy: string; admin: string; pids?: number[] }
  return { cli, file, proxyUrl: started.proxy, adminUrl: started.admin, pids: started.pids ?? [] }
}

export async function stopServe(serve: ServeProcess): Promise<void> {
  if (serve.cli.child.exitCode === null) serve.cli.child.kill('SIGTERM')
  await serve.cli.finished
}

/** An htpasswd file with alice (password "right"), bcrypt at the lowest cost so the tests spend no time hashing. */
export function htpasswdWithAlice(): string {
  const file = join(mkdtempSync(join(tmpdir(), 'fg-htpasswd-')), 'users.htpasswd')
  writeFileSync(file, `alice:${hashSync('right', 4)}\n`)
  return file
}

export const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`

/**
 * One request on a connection of its own (`reset`: Connection: close), as Flink's RestClient sends them;
 * `from` a loopback address of 127.0.0.0/8 to be another client to the per-address budgets.
 */
export async function callOnce(url: string, authorization?: string, from?: string): Promise<number> {
  const dispatcher = from === undefined ? undefined : new Agent({ connect: connectFrom(from) })
  try {
    const response = await request(url, {
      reset: true,
      headers: authorization === undefined ? {} : { authorization },
      ...(dispatcher === undefined ? {} : { dispatcher }),
    })
    await response.body.dump()
    return response.statusCode
  } finally {
    await dispatcher?.close()
  }
}

/** The samples of one metric in a Prometheus text scrape: labels and value per series. */
export async function scrape(
  adminUrl: string,
  name: string,
): Promise<{ labels: Record<string, string>; value: number }[]> {
  const response = await request(`${adminUrl}/metrics`)
  const text = await response.body.text()
  const samples: { labels: Record<string, string>; value: number }[] = []
  for (const line of text.split('\n')) {
    const match = /^([a-z_]+)(?:\{([^}]*)\})? (\S+)$/.exec(line)
    if (match === null || match[1] !== name) continue
    const labels = Object.fromEntries(
      [...(match[2] ?? '').matchAll(/([a-z_]+)="([^"]*)"/g)].map((label) => [label[1]!, label[2]!]),
    )
    samples.push({ labels, value: Number(match[3]) })
  }
  return samples
}

/** The sum of a metric's samples whose labels include `where`, per `worker` label. */
export async function perWorker(adminUrl: string, name: string, where: Record<string, string> = {}) {
  const byWorker: Record<string, number> = {}
  for (const { labels, value } of await scrape(adminUrl, name)) {
    if (!Object.entries(where).every(([key, wanted]) => labels[key] === wanted)) continue
    const worker = labels.worker ?? 'none'
    byWorker[worker] = (byWorker[worker] ?? 0) + value
  }
  return byWorker
}

/** The workers (their `worker` labels, sorted) that counted a metric's samples matching `where` above zero. */
export async function workersCounting(adminUrl: string, name: string, where: Record<string, string> = {}) {
  const byWorker = await perWorker(adminUrl, name, where)
  return Object.keys(byWorker)
    .filter((worker) => byWorker[worker]! > 0)
    .sort()
}
