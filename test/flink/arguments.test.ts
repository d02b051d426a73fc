import { createHash } from 'node:crypto'
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { FormData, request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startProxy, type TestProxy } from '../integration/support/proxy.js'
import { jobState, type RunningJob, runEndlessJob, waitForJobState } from './support/endless-job.js'
import { type FlinkCluster, startFlinkCluster } from './support/flink.js'
import { type FlinkCli, flinkCli } from './support/flink-cli.js'

/**
 * authz.arguments against a real Flink: the real CLI's savepoint to a directory outside the caller's grant
 * fails with flink-guard's reason and Flink records no savepoint; REST stops, disposals and jar runs that carry
 * what the grant does not allow are refused, and those within it run on Flink.
 */

const REFUSAL = 'The arguments of this action are not allowed'
let flink: FlinkCluster
let proxy: TestProxy
let cli: FlinkCli
let job: RunningJob
let allowedDir: string

beforeAll(async () => {
  flink = await startFlinkCluster()
  allowedDir = `file://${flink.savepointDir}/team-a/`
  proxy = await startProxy(flink.restUrl, {
    auth: { anonymous: { roles: ['team-a'] } },
    authz: {
      roles: { 'team-a': 'admin' },
      arguments: [
        {
          roles: ['team-a'],
          savepointDirs: [allowedDir],
          entryClasses: ['flinkguard.it.*'],
          maxParallelism: 2,
        },
      ],
    },
  })
  cli = flinkCli(flink.build)
  job = await runEndlessJob(flink, 'orders-v3')
})
afterAll(async () => {
  await proxy?.close(1_000)
  await flink?.stop()
})

const address = () => new URL(proxy.proxyUrl).host

async function post(path: string, body: unknown) {
  const response = await request(`${proxy.proxyUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  const text = await response.body.text()
  return { status: response.statusCode, text, code: response.headers['x-flink-guard-error'] }
}

/** The id of the job's latest completed savepoint as Flink itself reports it (GET /jobs/:id/checkpoints). */
async function latestSavepointOf(jobId: string): Promise<number | null> {
  const response = await request(`${flink.restUrl}/jobs/${jobId}/checkpoints`)
  const stats = (await response.body.json()) as { latest: { savepoint: { id: number } | null } }
  return stats.latest.savepoint?.id ?? null
}

describe('the real CLI', () => {
  it('fails a savepoint to a forbidden directory with flink-guard’s reason, and Flink writes nothing', async () => {
    const before = await latestSavepointOf(job.jobId)
    const forbidden = `file://${flink.workDir}/elsewhere`
    const result = await cli.run(['savepoint', '-m', address(), job.jobId, forbidden])
    expect(result.code).not.toBe(0)
    expect(`${result.stdout}\n${result.stderr}`).toContain(REFUSAL)
    expect(existsSync(join(flink.workDir, 'elsewhere'))).toBe(false)
    expect(await latestSavepointOf(job.jobId)).toBe(before)
  })

  it('takes a savepoint to the allowed directory', async () => {
    const result = await cli.run(['savepoint', '-m', address(), job.jobId, `${allowedDir}cli`])
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout).toContain('Savepoint completed')
    expect(
      readdirSync(join(flink.savepointDir, 'team-a', 'cli')).some((name) => name.startsWith('savepoint-')),
    ).toBe(true)
  })
})

describe('REST actions on a real Flink', () => {
  it('refuses a stop to a forbidden directory, and the job runs on', async () => {
    const response = await post(`/jobs/${job.jobId}/stop`, { targetDirectory: 'file:///tmp', drain: false })
    expect(response.status).toBe(403)
    expect(response.code).toBe('FG_ERR_AUTHZ_ARGUMENT_DENIED')
    expect(await jobState(flink, job.jobId)).toBe('RUNNING')
  })

  it('refuses to dispose of a savepoint outside the grant, with a dot-dot escape too', async () => {
    for (const path of ['file:///etc/flink', `${allowedDir}../../checkpoints`]) {
      const response = await post('/savepoint-disposal', { 'savepoint-path': path })
      expect(response.status).toBe(403)
    }
  })

  it('refuses a run that sets a classpath, asks for too much parallelism or restores from elsewhere', async () => {
    const run = `/jars/${encodeURIComponent(job.jarId)}/run`
    for (const body of [
      { flinkConfiguration: { 'pipeline.classpaths': 'file:///tmp/evil.jar' } },
      { parallelism: 8 },
      { entryClass: 'org.example.Other' },
      { flinkConfiguration: { 'execution.savepoint.path': 'file:///tmp/elsewhere' } },
    ]) {
      const response = await post(run, body)
      expect(response.status, JSON.stringify(body)).toBe(403)
      expect(JSON.parse(response.text).errors[0]).toContain(REFUSAL)
    }
    const byQuery = await post(`${run}?savepointPath=${encodeURIComponent('file:///tmp/elsewhere')}`, {})
    expect(byQuery.status).toBe(403)
    const overview = (await (await request(`${flink.restUrl}/jobs/overview`)).body.json()) as {
      jobs: unknown[]
    }
    expect(overview.jobs).toHaveLength(1)
  })

  it('runs a job within the grant, and the real CLI stops it with a savepoint in the allowed directory', async () => {
    const response = await post(`/jars/${encodeURIComponent(job.jarId)}/run`, {
      entryClass: 'flinkguard.it.EndlessJob',
      parallelism: 1,
      programArgsList: ['--name', 'orders-v4'],
    })
    expect(response.status, response.text).toBe(200)
    const { jobid } = JSON.parse(response.text) as { jobid: string }
    await waitForJobState(flink, jobid, 'RUNNING')
    const stop = await cli.run(['stop', '-m', address(), '--savepointPath', `${allowedDir}stop`, jobid])
    expect(stop.code, `${stop.stdout}\n${stop.stderr}`).toBe(0)
    await waitForJobState(flink, jobid, 'FINISHED')
    expect(readdirSync(join(flink.savepointDir, 'team-a', 'stop')).length).toBeGreaterThan(0)
  })
})

describe('a jar upload to a real Flink', () => {
  it('of a file that is no jar, named .jar, is refused before Flink stores it', async () => {
    const listed = async () =>
      (
        (await (await request(`${flink.restUrl}/jars`)).body.json()) as { files: { name: string }[] }
      ).files.map((file) => file.name)
    const before = await listed()
    const form = new FormData()
    form.append('jarfile', new Blob(['#!/bin/sh\necho not a jar\n']), 'renamed.jar')
    const response = await request(`${proxy.proxyUrl}/jars/upload`, { method: 'POST', body: form })
    expect(response.statusCode).toBe(415)
    expect(JSON.parse(await response.body.text()).errors[0]).toMatch(/does not start as a jar/)
    expect(await listed()).toEqual(before)
    expect(filesUnder(flink.uploadDir).filter((name) => name.endsWith('renamed.jar'))).toEqual([])
  })

  it('with allowedSha256, stores the listed jar and refuses another real jar before Flink stores it', async () => {
    const listed = readFileSync(flink.build.jobJar)
    // Another real jar (a ZIP file, so only the digest can refuse it): a small one of the classpath.
    const otherPath = flink.build.classpath
      .split(':')
      .find((path) => path.endsWith('.jar') && statSync(path).size < 2_000_000)!
    const other = readFileSync(otherPath)
    const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex')
    const pinned = await startProxy(flink.restUrl, {
      auth: { anonymous: { roles: ['team-a'] } },
      authz: { roles: { 'team-a': 'admin' } },
      limits: { uploads: { allowedSha256: [sha256(listed)] } },
    })
    const listedNames = async () =>
      (
        (await (await request(`${flink.restUrl}/jars`)).body.json()) as {
          files: { id: string; name: string }[]
        }
      ).files
    const upload = (bytes: Buffer, name: string) => {
      const form = new FormData()
      form.append('jarfile', new Blob([bytes]), name)
      return request(`${pinned.proxyUrl}/jars/upload`, { method: 'POST', body: form })
    }
    try {
      const before = await listedNames()
      const refused = await upload(other, 'not-listed.jar')
      expect(refused.statusCode).toBe(403)
      expect(JSON.parse(await refused.body.text()).errors[0]).toContain(sha256(other))
      expect(await listedNames()).toEqual(before)
      expect(filesUnder(flink.uploadDir).filter((name) => name.endsWith('not-listed.jar'))).toEqual([])
      const stored = await upload(listed, 'listed.jar')
      expect(stored.statusCode).toBe(200)
      const { filename } = (await stored.body.json()) as { filename: string }
      const added = (await listedNames()).filter((file) => !before.some((old) => old.id === file.id))
      expect(added.map((file) => file.name)).toEqual(['listed.jar'])
      expect(filename).toContain(added[0]!.id)
      await (await request(`${flink.restUrl}/jars/${added[0]!.id}`, { method: 'DELETE' })).body.text()
    } finally {
      await pinned.close(1_000)
    }
  })
})

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
}
