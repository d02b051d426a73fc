import { existsSync } from 'node:fs'
import { request } from 'undici'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { eventually } from '../integration/support/eventually.js'
import { basicAuth, htpasswdFor } from '../integration/support/gateway.js'
import { startProxy, type TestProxy } from '../integration/support/proxy.js'
import { runEndlessJob, waitForJobState } from './support/endless-job.js'
import { type FlinkCluster, startFlinkCluster } from './support/flink.js'
import { type FlinkCliResult, flinkCli } from './support/flink-cli.js'

/**
 * The audit trail against a real Flink session cluster: a stop-with-savepoint and a `flink cancel` through
 * flink-guard each leave the line of the request and, once Flink has finished the action, the line of its
 * outcome (the savepoint's location, which is on disk; the job's final state), both naming the job.
 */

let flink: FlinkCluster
let proxy: TestProxy
const jobs = { orders: '', payments: '' }
const ALICE = basicAuth('alice')
const output = (result: FlinkCliResult) => `${result.stdout}\n${result.stderr}`

beforeAll(async () => {
  flink = await startFlinkCluster({ slots: 2 })
  jobs.orders = (await runEndlessJob(flink, 'orders-v3')).jobId
  jobs.payments = (await runEndlessJob(flink, 'payments-v1')).jobId
  proxy = await startProxy(flink.restUrl, {
    auth: { basic: { htpasswd: htpasswdFor(['alice']), users: { alice: ['ops'] } } },
    authz: { roles: { ops: 'operator' } },
    audit: { followUp: { intervalMs: 200 } },
  })
})
afterAll(async () => {
  await proxy?.close(1_000)
  await flink?.stop()
})

/** The audit lines of one job, in the order written. */
const auditOf = (jobId: string) =>
  proxy.rawLogs
    .map((line) => JSON.parse(line))
    .filter((line) => line.msg === 'audit' && line.audit.jobId === jobId)

/** Flink takes a savepoint only once every task runs (RUNNING job state comes before that). */
async function tasksRunning(jobId: string): Promise<void> {
  await eventually(async () => {
    const detail = (await (await request(`${flink.restUrl}/jobs/${jobId}`)).body.json()) as {
      vertices: { status: string }[]
    }
    return detail.vertices.every((vertex) => vertex.status === 'RUNNING')
  }, 60_000)
}

it("a stop-with-savepoint: the request's line, then the outcome's with the savepoint Flink wrote", async () => {
  await tasksRunning(jobs.orders)
  const response = await request(`${proxy.proxyUrl}/jobs/${jobs.orders}/stop`, {
    method: 'POST',
    headers: { authorization: ALICE, 'content-type': 'application/json' },
    body: JSON.stringify({ targetDirectory: `file://${flink.savepointDir}`, drain: false }),
  })
  expect(response.statusCode).toBe(202)
  const { 'request-id': triggerId } = (await response.body.json()) as { 'request-id': string }
  await eventually(() => auditOf(jobs.orders).length === 2, 60_000)
  const [requested, completed] = auditOf(jobs.orders)
  expect(requested.reqId).toBe(completed.reqId)
  expect(requested.audit).toMatchObject({
    phase: 'requested',
    followUp: 'following',
    subject: 'alice',
    action: 'POST /jobs/:jobid/stop',
    triggerId,
    status: 202,
  })
  expect(completed.audit.result, completed.audit.failure).toBe('COMPLETED')
  expect(completed.audit).toMatchObject({
    phase: 'completed',
    subject: 'alice',
    action: 'POST /jobs/:jobid/stop',
    jobName: 'orders-v3',
    triggerId,
    result: 'COMPLETED',
    savepointPath: expect.stringContaining(`${flink.savepointDir}/savepoint-${jobs.orders.slice(0, 6)}-`),
  })
  // Flink's location is a file: URI (file:/dir/... ); the savepoint's metadata is there.
  const directory = (completed.audit.savepointPath as string).replace(/^file:(\/\/)?/, '')
  expect(existsSync(`${directory}/_metadata`)).toBe(true)
  // The job ends once its savepoint is complete.
  await waitForJobState(flink, jobs.orders, 'FINISHED')
})

it('`flink cancel` through flink-guard: the outcome line has the job’s final state, as Flink reports it', async () => {
  const cli = flinkCli(flink.build)
  const result = await cli.run(['cancel', '-m', proxy.proxyUrl, jobs.payments], {
    FLINK_REST_CLIENT_HEADERS: `Authorization:${ALICE}`,
  })
  expect(result.code, output(result)).toBe(0)
  await waitForJobState(flink, jobs.payments, 'CANCELED')
  await eventually(() => auditOf(jobs.payments).some((line) => line.audit.phase === 'completed'), 60_000)
  const completed = auditOf(jobs.payments).find((line) => line.audit.phase === 'completed')!
  expect(completed.audit).toMatchObject({
    action: 'PATCH /jobs/:jobid',
    jobName: 'payments-v1',
    result: 'CANCELED',
    jobState: 'CANCELED',
  })
})
