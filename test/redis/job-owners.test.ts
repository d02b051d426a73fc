import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Standin, startStandin } from '../../src/standin/server.js'
import { basicAuth } from '../integration/support/gateway.js'
import { ownJobsScope } from '../integration/support/own-jobs.js'
import { startProxy, type TestProxy } from '../integration/support/proxy.js'
import { type RedisServer, startRedis } from './support/redis-server.js'

/**
 * Who submitted each job (jobOwners.store: redis), shared by two proxies (two replicas) through one real
 * Redis: a job submitted through one is cancelled by its submitter through the other and by nobody else.
 * With Redis killed, a decision that needs the record is a 503 and a submission still answers with the job
 * Flink started, its submitter marked not recorded.
 */

let standin: Standin
let redis: RedisServer
let one: TestProxy
let two: TestProxy

const replica = () =>
  startProxy(standin.url, {
    ...ownJobsScope(['ana', 'ben']),
    // Open: with Redis down, Basic logins are checked against this process's own budgets and get through.
    redis: { url: redis.url, timeoutMs: 300, failMode: 'open' },
    jobOwners: { store: 'redis' },
  })

beforeAll(async () => {
  standin = await startStandin()
  standin.state.addJar({ id: 'c0ffee_etl.jar', name: 'etl.jar', uploaded: Date.now(), serverPath: '/tmp/x' })
  redis = await startRedis()
  one = await replica()
  two = await replica()
})
afterAll(async () => {
  await Promise.allSettled([one?.close(1_000), two?.close(1_000)])
  await redis?.stop()
  await standin?.close()
})

async function call(proxy: TestProxy, user: string, method: 'POST' | 'PATCH', path: string) {
  const response = await request(`${proxy.proxyUrl}${path}`, {
    method,
    headers: { authorization: basicAuth(user), 'content-type': 'application/json' },
    ...(method === 'POST' ? { body: '{}' } : {}),
  })
  const body = (await response.body.json()) as Record<string, unknown>
  return { status: response.statusCode, code: response.headers['x-flink-guard-error'], body }
}
const run = (proxy: TestProxy, user: string) => call(proxy, user, 'POST', '/jars/c0ffee_etl.jar/run')
const cancel = (proxy: TestProxy, user: string, job: string) => call(proxy, user, 'PATCH', `/jobs/${job}`)

describe('job owners in Redis, shared by two replicas', () => {
  it('a job submitted through one is its submitter’s on the other', async () => {
    const job = (await run(one, 'ana')).body.jobid as string
    expect((await cancel(two, 'ben', job)).code).toBe('FG_ERR_AUTHZ_JOB_OUT_OF_SCOPE')
    expect(standin.jobs.get(job)!.state).toBe('RUNNING')
    expect((await cancel(two, 'ana', job)).status).toBe(202)
    expect(standin.jobs.get(job)!.state).toBe('CANCELED')
  })

  it('with Redis down: a decision that needs the record is a 503; a submission still answers, marked not recorded', async () => {
    const before = (await run(one, 'ben')).body.jobid as string
    await redis.kill()
    try {
      const refused = await cancel(two, 'ben', before)
      expect(refused.status).toBe(503)
      expect(refused.code).toBe('FG_ERR_JOB_OWNERS_UNAVAILABLE')
      expect(standin.jobs.get(before)!.state).toBe('RUNNING')
      const submitted = await run(one, 'ana')
      expect(submitted.status).toBe(200)
      const job = submitted.body.jobid as string
      expect(standin.jobs.get(job)!.state).toBe('RUNNING')
      expect(
        one.logs.find((line) => line.msg === 'audit' && (line.audit as { jobId?: string }).jobId === job)
          ?.audit,
      ).toMatchObject({
        submitterRecorded: false,
      })
    } finally {
      await redis.restart()
    }
    // Back (an empty Redis, nothing persisted): asked again at once, the record gone with it.
    await expect
      .poll(async () => (await cancel(two, 'ben', before)).code, { timeout: 5_000 })
      .toBe('FG_ERR_AUTHZ_JOB_OUT_OF_SCOPE')
  })
})
