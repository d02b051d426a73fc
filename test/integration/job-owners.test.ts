import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { validateConfig } from '../../src/config/load.js'
import { type Standin, startStandin } from '../../src/standin/server.js'
import { basicAuth } from './support/gateway.js'
import { ownJobsScope } from './support/own-jobs.js'
import { startProxy, type TestProxy } from './support/proxy.js'

/**
 * "The owner may cancel their own job" (authz.jobScope grants with ownJobs, jobOwners) through the real proxy
 * in front of the stand-in: everyone sees every job (a view grant), each developer acts only on the jobs they
 * submitted through flink-guard, and the record of who that was survives a restart and is shared by two
 * proxies on one file. The same with the real CLI on real Flink: test/flink/job-owners.test.ts; with Redis
 * across replicas: test/redis/job-owners.test.ts.
 */

let standin: Standin
let dir: string
let ownersFile: string
const proxies: TestProxy[] = []

const SCOPE = ownJobsScope(['ana', 'ben'], ['gus'])
const guarded = async (file = ownersFile, scope: Record<string, unknown> = SCOPE) => {
  const proxy = await startProxy(standin.url, { ...scope, jobOwners: { file } })
  proxies.push(proxy)
  return proxy
}

beforeAll(async () => {
  standin = await startStandin()
  standin.state.addJar({ id: 'c0ffee_etl.jar', name: 'etl.jar', uploaded: Date.now(), serverPath: '/tmp/x' })
  dir = mkdtempSync(join(tmpdir(), 'fg-job-owners-'))
  ownersFile = join(dir, 'owners.jsonl')
})
afterAll(async () => {
  await Promise.all(proxies.map((proxy) => proxy.close(1_000)))
  await standin.close()
  rmSync(dir, { recursive: true, force: true })
})

async function call(proxy: TestProxy, user: string, method: 'GET' | 'POST' | 'PATCH', path: string) {
  const response = await request(`${proxy.proxyUrl}${path}`, {
    method,
    headers: { authorization: basicAuth(user), 'content-type': 'application/json' },
    ...(method === 'POST' ? { body: '{}' } : {}),
  })
  const text = await response.body.text()
  return {
    status: response.statusCode,
    code: response.headers['x-flink-guard-error'],
    body: text === '' ? null : (JSON.parse(text) as Record<string, unknown> & { errors?: string[] }),
    requestId: response.headers['x-request-id'],
  }
}
const submit = async (proxy: TestProxy, user: string) => {
  const run = await call(proxy, user, 'POST', '/jars/c0ffee_etl.jar/run')
  expect(run.status).toBe(200)
  return run.body!.jobid as string
}
const cancel = (proxy: TestProxy, user: string, job: string) => call(proxy, user, 'PATCH', `/jobs/${job}`)
const stateOf = (job: string) => standin.jobs.get(job)!.state

describe('a job submitted through flink-guard', () => {
  it('is its submitter’s: recorded in the file before the answer, and in the audit line', async () => {
    const proxy = await guarded()
    const run = await call(proxy, 'ana', 'POST', '/jars/c0ffee_etl.jar/run')
    expect(run.status).toBe(200)
    const job = run.body!.jobid as string
    expect(readFileSync(ownersFile, 'utf8')).toContain(
      `{"cluster":"default","job":"${job}","subject":"ana","at":"`,
    )
    const audit = proxy.logs.find((line) => line.msg === 'audit' && line.reqId === run.requestId)
    expect(audit?.audit).toMatchObject({
      action: 'POST /jars/:jarid/run',
      jobId: job,
      submitterRecorded: true,
    })
  })

  it('is cancelled by its submitter and by nobody else; a refused cancel never reaches Flink', async () => {
    const proxy = await guarded()
    const anas = await submit(proxy, 'ana')
    const refused = await cancel(proxy, 'ben', anas)
    expect(refused.status).toBe(403)
    expect(refused.code).toBe('FG_ERR_AUTHZ_JOB_OUT_OF_SCOPE')
    expect(refused.body!.errors![0]).toMatch(
      new RegExp(
        `job ${anas} is not one of yours to act on \\(you may see jobs \\* \\(to view\\); the jobs you submitted\\)`,
      ),
    )
    expect(standin.record.requests.some((sent) => sent.method === 'PATCH' && sent.url.includes(anas))).toBe(
      false,
    )
    expect(stateOf(anas)).toBe('RUNNING')
    expect((await cancel(proxy, 'ana', anas)).status).toBe(202)
    expect(stateOf(anas)).toBe('CANCELED')
  })

  it('is seen by everyone with the view grant; a job nobody submitted through flink-guard is operated by nobody', async () => {
    const proxy = await guarded()
    const anas = await submit(proxy, 'ana')
    const names = async (user: string) =>
      ((await call(proxy, user, 'GET', '/jobs/overview')).body!.jobs as { jid: string }[]).map(
        (job) => job.jid,
      )
    for (const user of ['ana', 'ben', 'gus']) expect(await names(user)).toContain(anas)
    expect((await call(proxy, 'gus', 'GET', `/jobs/${anas}`)).status).toBe(200)
    const fromBefore = [...standin.jobs.values()].find((job) => job.name === 'Fraud Detection')!
    expect((await call(proxy, 'ben', 'GET', `/jobs/${fromBefore.id}`)).status).toBe(200)
    const savepoint = await call(proxy, 'ben', 'POST', `/jobs/${fromBefore.id}/savepoints`)
    expect(savepoint.code).toBe('FG_ERR_AUTHZ_JOB_OUT_OF_SCOPE')
    expect((await cancel(proxy, 'ana', fromBefore.id)).code).toBe('FG_ERR_AUTHZ_JOB_OUT_OF_SCOPE')
  })

  it('a view grant does not allow a GET that acts (a flame graph samples the TaskManagers)', async () => {
    const flameGraphs = { effect: 'allow', path: '/jobs/:jobid/vertices/:vertexid/flamegraph' }
    const proxy = await guarded(ownersFile, { ...SCOPE, authz: { ...SCOPE.authz, rules: [flameGraphs] } })
    const bens = await submit(proxy, 'ben')
    const fraud = [...standin.jobs.values()].find((job) => job.name === 'Fraud Detection')!
    const vertex = 'e'.repeat(32)
    expect((await call(proxy, 'ben', 'GET', `/jobs/${fraud.id}/vertices/${vertex}/flamegraph`)).code).toBe(
      'FG_ERR_AUTHZ_JOB_OUT_OF_SCOPE',
    )
    expect((await call(proxy, 'ben', 'GET', `/jobs/${bens}/vertices/${vertex}/flamegraph`)).code).not.toBe(
      'FG_ERR_AUTHZ_JOB_OUT_OF_SCOPE',
    )
  })

  it('is not recorded for an anonymous caller: nobody is "anonymous"’s owner', async () => {
    const file = join(dir, 'anonymous.jsonl')
    const proxy = await guarded(file, {
      auth: { anonymous: { roles: ['devs'] } },
      authz: { roles: { devs: 'deployer' }, jobScope: { grants: [{ roles: ['devs'], ownJobs: true }] } },
    })
    const run = await request(`${proxy.proxyUrl}/jars/c0ffee_etl.jar/run`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    })
    expect(run.statusCode).toBe(200)
    const job = ((await run.body.json()) as { jobid: string }).jobid
    expect(readFileSync(file, 'utf8')).toBe('')
    expect(
      (await request(`${proxy.proxyUrl}/jobs/${job}`, { method: 'PATCH' })).headers['x-flink-guard-error'],
    ).toBe('FG_ERR_AUTHZ_JOB_OUT_OF_SCOPE')
  })

  it('without a view grant, lists only the jobs one submitted', async () => {
    const proxy = await guarded(ownersFile, {
      ...SCOPE,
      authz: { ...SCOPE.authz, jobScope: { grants: [{ roles: ['devs'], ownJobs: true }] } },
    })
    const anas = await submit(proxy, 'ana')
    const bens = await submit(proxy, 'ben')
    const listed = async (user: string) =>
      ((await call(proxy, user, 'GET', '/jobs/overview')).body!.jobs as { jid: string }[]).map(
        (job) => job.jid,
      )
    expect(await listed('ben')).toContain(bens)
    expect(await listed('ben')).not.toContain(anas)
    expect((await call(proxy, 'ben', 'GET', '/overview')).body!['jobs-running']).toBeGreaterThanOrEqual(1)
    expect((await call(proxy, 'gus', 'GET', '/jobs/overview')).body!.jobs).toEqual([])
    expect((await call(proxy, 'ben', 'GET', `/jobs/${anas}`)).code).toBe('FG_ERR_AUTHZ_JOB_OUT_OF_SCOPE')
  })
})

describe('the record of who submitted what', () => {
  it('survives a restart: the owner still cancels, the other still cannot', async () => {
    const before = await guarded()
    const anas = await submit(before, 'ana')
    await before.close(1_000)
    const after = await guarded()
    expect((await cancel(after, 'ben', anas)).status).toBe(403)
    expect((await cancel(after, 'ana', anas)).status).toBe(202)
  })

  it('is shared by two proxies on one file (the workers of a group): submitted on one, cancelled on the other', async () => {
    const [one, two] = [await guarded(), await guarded()]
    const bens = await submit(one, 'ben')
    expect((await cancel(two, 'ana', bens)).status).toBe(403)
    expect((await cancel(two, 'ben', bens)).status).toBe(202)
  })

  it('that cannot be written (disk full) does not hide the job Flink started: logged, counted, in the audit line', async () => {
    const proxy = await guarded('/dev/full')
    const run = await call(proxy, 'ana', 'POST', '/jars/c0ffee_etl.jar/run')
    expect(run.status).toBe(200)
    const job = run.body!.jobid as string
    expect(stateOf(job)).toBe('RUNNING')
    const audit = proxy.logs.find((line) => line.msg === 'audit' && line.reqId === run.requestId)
    expect(audit?.audit).toMatchObject({ jobId: job, submitterRecorded: false })
    expect(
      proxy.logs.some(
        (line) => line.level === 50 && /submitter could not be recorded/.test(String(line.msg)),
      ),
    ).toBe(true)
    const metrics = await (await request(`${proxy.adminUrl}/metrics`)).body.text()
    expect(metrics).toMatch(/^flink_guard_job_owner_errors_total\{op="record"\} 1$/m)
    // Nobody was recorded, so nobody operates it (an admin with a '*' grant would).
    expect((await cancel(proxy, 'ana', job)).code).toBe('FG_ERR_AUTHZ_JOB_OUT_OF_SCOPE')
  })

  it('deleted, is created again, empty: nobody owns what it held (never a guess), and new records go to it', async () => {
    const file = join(dir, 'deleted.jsonl')
    const proxy = await guarded(file)
    const anas = await submit(proxy, 'ana')
    rmSync(file)
    expect((await cancel(proxy, 'ana', anas)).code).toBe('FG_ERR_AUTHZ_JOB_OUT_OF_SCOPE')
    expect(stateOf(anas)).toBe('RUNNING')
    expect(proxy.logs.some((line) => /jobOwners.file was deleted/.test(String(line.msg)))).toBe(true)
    const bens = await submit(proxy, 'ben')
    expect(readFileSync(file, 'utf8')).toContain(`"job":"${bens}","subject":"ben"`)
    expect((await cancel(proxy, 'ben', bens)).status).toBe(202)
  })

  it('edited to drop a record (replaced): the running proxy forgets that owner too', async () => {
    const file = join(dir, 'edited.jsonl')
    const proxy = await guarded(file)
    const anas = await submit(proxy, 'ana')
    const bens = await submit(proxy, 'ben')
    const kept = readFileSync(file, 'utf8')
      .split('\n')
      .filter((line) => !line.includes(anas))
      .join('\n')
    writeFileSync(`${file}.new`, kept)
    renameSync(`${file}.new`, file)
    expect((await cancel(proxy, 'ana', anas)).code).toBe('FG_ERR_AUTHZ_JOB_OUT_OF_SCOPE')
    expect((await cancel(proxy, 'ben', bens)).status).toBe(202)
  })

  it('with garbage lines in the file: the good records are read, the rest skipped and logged', async () => {
    const file = join(dir, 'garbage.jsonl')
    const job = 'd'.repeat(32)
    standin.state.jobs.set(job, { id: job, name: 'x', state: 'RUNNING', startTime: Date.now(), endTime: -1 })
    writeFileSync(
      file,
      `\u0000\u0001not json\n{"cluster":"default","job":"${job}","subject":"ana","at":"2026-12-04T00:00:00Z"}\n`,
    )
    const proxy = await guarded(file)
    expect((await cancel(proxy, 'ben', job)).status).toBe(403)
    expect((await cancel(proxy, 'ana', job)).status).toBe(202)
    expect(proxy.logs.some((line) => line.lines === 1 && /not records/.test(String(line.msg)))).toBe(true)
  })
})

describe('configuration', () => {
  const problems = (raw: Record<string, unknown>) => {
    try {
      validateConfig(
        { upstream: { url: 'http://127.0.0.1:8081' }, auth: { anonymous: {} }, ...raw },
        'test',
        {},
      )
      return []
    } catch (err) {
      return (err as { problems: string[] }).problems
    }
  }

  it('refuses ownJobs without jobOwners, a file store without its file, a Redis store without redis', () => {
    expect(problems({ authz: { jobScope: { grants: [{ ownJobs: true }] } } })).toEqual([
      expect.stringContaining('"authz.jobScope.grants[0].ownJobs" gives callers the jobs they submitted'),
    ])
    expect(problems({ jobOwners: {} })).toEqual([expect.stringContaining('"jobOwners.file" is required')])
    expect(problems({ jobOwners: { store: 'redis' } })).toEqual([
      expect.stringContaining('configure redis.url'),
    ])
    expect(problems({ authz: { jobScope: { grants: [{ names: ['*'], access: 'edit' }] } } })).not.toEqual([])
  })

  it('will not start with a file it cannot open', async () => {
    await expect(guarded(join(dir, 'no-such-dir', 'owners.jsonl'))).rejects.toThrow(
      /jobOwners.file .*no-such-dir.* cannot be opened: ENOENT/,
    )
  })
})
