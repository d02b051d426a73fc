import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { FormData, request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { basicAuth } from '../integration/support/gateway.js'
import { ownJobsScope } from '../integration/support/own-jobs.js'
import { startProxy, type TestProxy } from '../integration/support/proxy.js'
import { jobState, waitForJobState } from './support/endless-job.js'
import { type FlinkCluster, startFlinkCluster } from './support/flink.js'
import { type FlinkCli, type FlinkCliResult, flinkCli } from './support/flink-cli.js'

/**
 * "The owner may cancel their own job" on a real Flink session cluster: everyone sees every job (a view
 * grant), each developer acts only on the jobs they submitted through flink-guard (ownJobs, jobOwners). ana
 * submits with the real `flink run` (POST /jobs), ben through the REST API as the dashboard does (upload,
 * run). Flink, asked directly, says what was and was not done; the record outlives a proxy restart.
 */

let flink: FlinkCluster
let proxy: TestProxy
let cli: FlinkCli
let dir: string
const jobs = { ana: '', ben: '' }
const ANA = basicAuth('ana')
const BEN = basicAuth('ben')
const output = (result: FlinkCliResult) => `${result.stdout}\n${result.stderr}`
const as = (authorization: string) => ({ FLINK_REST_CLIENT_HEADERS: `Authorization:${authorization}` })

const guarded = () =>
  startProxy(flink.restUrl, {
    ...ownJobsScope(['ana', 'ben']),
    jobOwners: { file: join(dir, 'owners.jsonl') },
  })

beforeAll(async () => {
  flink = await startFlinkCluster({ slots: 4 })
  dir = mkdtempSync(join(tmpdir(), 'fg-flink-owners-'))
  proxy = await guarded()
  cli = flinkCli(flink.build)
})
afterAll(async () => {
  await proxy?.close(1_000)
  await flink?.stop()
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
})

async function viaProxy(
  path: string,
  authorization: string,
  method: 'GET' | 'POST' = 'GET',
  body?: FormData | string,
) {
  const response = await request(`${proxy.proxyUrl}${path}`, {
    method,
    headers: { authorization, ...(typeof body === 'string' ? { 'content-type': 'application/json' } : {}) },
    body,
  })
  return {
    status: response.statusCode,
    code: response.headers['x-flink-guard-error'],
    body: (await response.body.json()) as Record<string, unknown> & { errors?: string[] },
  }
}

describe('jobs submitted through flink-guard', () => {
  it('ana submits with the real `flink run`; her record is written', async () => {
    const result = await cli.run(
      ['run', '-d', '-m', proxy.proxyUrl, flink.build.jobJar, '--name', 'ana-etl'],
      as(ANA),
    )
    expect(result.code, output(result)).toBe(0)
    jobs.ana = /Job has been submitted with JobID ([0-9a-f]{32})/.exec(result.stdout)![1]!
    await waitForJobState(flink, jobs.ana, 'RUNNING')
    expect(readFileSync(join(dir, 'owners.jsonl'), 'utf8')).toContain(`"job":"${jobs.ana}","subject":"ana"`)
  })

  it('ben submits through the REST API (upload, run), as the dashboard does', async () => {
    const form = new FormData()
    form.append('jarfile', new Blob([readFileSync(flink.build.jobJar)]), 'flink-it.jar')
    const uploaded = await viaProxy('/jars/upload', BEN, 'POST', form)
    expect(uploaded.status).toBe(200)
    const jarId = basename(uploaded.body.filename as string)
    const run = await viaProxy(
      `/jars/${jarId}/run`,
      BEN,
      'POST',
      JSON.stringify({ programArgsList: ['--name', 'ben-etl'] }),
    )
    expect(run.status).toBe(200)
    jobs.ben = run.body.jobid as string
    await waitForJobState(flink, jobs.ben, 'RUNNING')
  })

  it('`flink list` shows ben both jobs (the view grant); his `flink cancel` of ana’s job fails and it runs on', async () => {
    const listed = await cli.run(['list', '-m', proxy.proxyUrl], as(BEN))
    expect(listed.code, output(listed)).toBe(0)
    expect(listed.stdout).toContain(`${jobs.ana} : ana-etl (RUNNING)`)
    expect(listed.stdout).toContain(`${jobs.ben} : ben-etl (RUNNING)`)
    const cancelled = await cli.run(['cancel', '-m', proxy.proxyUrl, jobs.ana], as(BEN))
    expect(cancelled.code).not.toBe(0)
    expect(output(cancelled)).toContain(`job ${jobs.ana} is not one of yours to act on`)
    expect(output(cancelled)).not.toContain('Cancelled job')
    expect(await jobState(flink, jobs.ana)).toBe('RUNNING')
  })

  it('ana cannot take ben’s job with a run that names its id, even from a program that swallows Flink’s refusal', async () => {
    const jars = (await viaProxy('/jars', ANA)).body.files as { id: string }[]
    const claim = (args: string[]) =>
      viaProxy(
        `/jars/${jars[0]!.id}/run`,
        ANA,
        'POST',
        JSON.stringify({ jobId: jobs.ben, programArgsList: ['--name', 'ana-claim', ...args] }),
      )
    // Flink refuses the duplicate id.
    expect((await claim([])).status).toBeGreaterThanOrEqual(400)
    // A main() that catches the refusal is answered 200 with the id it asked for: not a job it started.
    const swallowed = await claim(['--swallow-failure'])
    expect(swallowed).toMatchObject({ status: 200, body: { jobid: jobs.ben } })
    expect(
      proxy.logs.some((line) => /is not one it started/.test(String(line.msg)) && line.jobId === jobs.ben),
    ).toBe(true)
    const lines = readFileSync(join(dir, 'owners.jsonl'), 'utf8')
      .split('\n')
      .filter((line) => line.includes(jobs.ben))
    expect(lines).toEqual([expect.stringContaining('"subject":"ben"')])
    const savepoint = await viaProxy(`/jobs/${jobs.ben}/savepoints`, ANA, 'POST', '{"cancel-job":true}')
    expect(savepoint.code).toBe('FG_ERR_AUTHZ_JOB_OUT_OF_SCOPE')
    expect(await jobState(flink, jobs.ben)).toBe('RUNNING')
  })

  it('after a proxy restart each still cancels their own job with the real CLI', async () => {
    await proxy.close(1_000)
    proxy = await guarded()
    const refused = await cli.run(['cancel', '-m', proxy.proxyUrl, jobs.ben], as(ANA))
    expect(refused.code).not.toBe(0)
    expect(await jobState(flink, jobs.ben)).toBe('RUNNING')
    for (const [user, auth] of [
      ['ana', ANA],
      ['ben', BEN],
    ] as const) {
      const result = await cli.run(['cancel', '-m', proxy.proxyUrl, jobs[user]], as(auth))
      expect(result.code, output(result)).toBe(0)
      expect(result.stdout).toContain(`Cancelled job ${jobs[user]}`)
      await waitForJobState(flink, jobs[user], 'CANCELED')
    }
  })
})
