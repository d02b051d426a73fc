import { readFileSync } from 'node:fs'
import { basename } from 'node:path'
import { type Dispatcher, FormData, request } from 'undici'
import type { FlinkCluster } from './flink.js'

/**
 * The test job (flink-it's EndlessJob) started on a plain-HTTP cluster the way the dashboard's "Submit New
 * Job" page does it, straight to Flink: POST /jars/upload, then POST /jars/:jarid/run. Faster than the CLI
 * (no JVM to start), and the jar stays listed in the dashboard for another run.
 */

const RUNNING_TIMEOUT_MS = 60_000

export interface RunningJob {
  readonly jobId: string
  readonly jarId: string
}

export async function runEndlessJob(
  cluster: FlinkCluster,
  name = 'flink-guard-endless',
): Promise<RunningJob> {
  const form = new FormData()
  const jar = new Blob([readFileSync(cluster.build.jobJar)], { type: 'application/java-archive' })
  form.append('jarfile', jar, 'flink-it.jar')
  const uploaded = await jsonOf<{ filename: string }>(`${cluster.restUrl}/jars/upload`, 'POST', form)
  const jarId = basename(uploaded.filename)
  const run = await jsonOf<{ jobid: string }>(
    `${cluster.restUrl}/jars/${encodeURIComponent(jarId)}/run`,
    'POST',
    JSON.stringify({ programArgsList: ['--name', name] }),
  )
  await waitForJobState(cluster, run.jobid, 'RUNNING')
  return { jobId: run.jobid, jarId }
}

/**
 * The job's state as Flink itself reports it (GET /jobs/:jobid on the JobManager, not through a proxy);
 * `dispatcher` carries the client certificate a TLS cluster demands.
 */
export async function jobState(
  cluster: FlinkCluster,
  jobId: string,
  dispatcher?: Dispatcher,
): Promise<string> {
  return (await jsonOf<{ state: string }>(`${cluster.restUrl}/jobs/${jobId}`, 'GET', undefined, dispatcher))
    .state
}

export async function waitForJobState(
  cluster: FlinkCluster,
  jobId: string,
  state: string,
  { timeoutMs = RUNNING_TIMEOUT_MS, dispatcher }: { timeoutMs?: number; dispatcher?: Dispatcher } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let last = ''
  while (Date.now() < deadline) {
    last = await jobState(cluster, jobId, dispatcher)
    if (last === state) return
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
  throw new Error(`job ${jobId} did not reach ${state} within ${timeoutMs} ms (last state: ${last})`)
}

async function jsonOf<T>(
  url: string,
  method: 'GET' | 'POST',
  body?: FormData | string,
  dispatcher?: Dispatcher,
): Promise<T> {
  const response = await request(url, {
    method,
    body,
    dispatcher,
    headers: typeof body === 'string' ? { 'content-type': 'application/json' } : {},
  })
  const text = await response.body.text()
  if (response.statusCode !== 200) throw new Error(`${method} ${url}: ${response.statusCode} ${text}`)
  return JSON.parse(text) as T
}
