import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { request } from 'undici'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { type Standin, startStandin } from '../../src/standin/server.js'
import type { StandinJob } from '../../src/standin/state.js'
import { eventually } from './support/eventually.js'
import { basicAuth, htpasswdFor } from './support/gateway.js'
import { startProxy, type TestProxy } from './support/proxy.js'

/**
 * Job scope through the real proxy in front of the stand-in (whose jobs are "Streaming WordCount" and "Fraud
 * Detection", running, and "Nightly Batch ETL", finished): each team sees and acts on its own jobs only.
 * The same on real Flink, with the dashboard and the CLI, is test/flink/job-scope.test.ts.
 */

const USERS = ['ana', 'fritz', 'nobody', 'root']
const CACHE_MS = 60_000
let standin: Standin
let proxy: TestProxy
let wordCount: StandinJob
let fraud: StandinJob
let batch: StandinJob

beforeAll(async () => {
  standin = await startStandin()
  const jobs = [...standin.jobs.values()]
  wordCount = jobs.find((job) => job.name === 'Streaming WordCount')!
  fraud = jobs.find((job) => job.name === 'Fraud Detection')!
  batch = jobs.find((job) => job.name === 'Nightly Batch ETL')!
  proxy = await startProxy(standin.url, {
    auth: {
      basic: {
        htpasswd: htpasswdFor(USERS),
        users: { ana: ['streaming'], fritz: ['fraud'], nobody: ['guests'], root: ['flink-admins'] },
      },
    },
    authz: {
      roles: { streaming: 'operator', fraud: 'operator', guests: 'viewer', 'flink-admins': 'admin' },
      // A route flink-guard does not know, under a job: a rule may allow it, job scope cannot judge it.
      rules: [{ effect: 'allow', path: '/jobs/:jobid/made-up' }],
      jobScope: {
        cacheMs: CACHE_MS,
        grants: [
          { roles: ['streaming'], names: ['Streaming *', 'Nightly*'] },
          { roles: ['fraud'], names: ['Fraud Detection'] },
          { roles: ['flink-admins'], names: ['*'] },
        ],
      },
    },
  })
})
afterAll(async () => {
  await proxy.close(1_000)
  await standin.close()
})
beforeEach(() => standin.record.reset())

async function call(user: string, path: string, method: 'GET' | 'PATCH' | 'DELETE' = 'GET') {
  const response = await request(`${proxy.proxyUrl}${path}`, {
    method,
    headers: { authorization: basicAuth(user) },
  })
  const text = await response.body.text()
  return {
    status: response.statusCode,
    code: response.headers['x-flink-guard-error'],
    body: text === '' ? null : JSON.parse(text),
  }
}
const forwarded = (path: string) => standin.record.requests.filter((sent) => sent.url === path).length

describe('job lists and counts', () => {
  it("/jobs/overview lists only the caller's jobs", async () => {
    const names = async (user: string) =>
      ((await call(user, '/jobs/overview')).body.jobs as { name: string }[]).map((job) => job.name).sort()
    expect(await names('ana')).toEqual(['Nightly Batch ETL', 'Streaming WordCount'])
    expect(await names('fritz')).toEqual(['Fraud Detection'])
    expect(await names('nobody')).toEqual([])
    expect(await names('root')).toEqual(['Fraud Detection', 'Nightly Batch ETL', 'Streaming WordCount'])
  })

  it("/jobs lists only the caller's job ids", async () => {
    const ids = async (user: string) =>
      ((await call(user, '/jobs')).body.jobs as { id: string }[]).map((job) => job.id)
    expect((await ids('fritz')).sort()).toEqual([fraud.id])
    expect((await ids('ana')).sort()).toEqual([wordCount.id, batch.id].sort())
    expect(await ids('nobody')).toEqual([])
  })

  it("/overview counts only the caller's jobs, and keeps everything else Flink said", async () => {
    const direct = (await (await request(`${standin.url}/overview`)).body.json()) as Record<string, unknown>
    const ana = (await call('ana', '/overview')).body
    expect(ana).toEqual({
      ...direct,
      'jobs-running': 1,
      'jobs-finished': 1,
      'jobs-cancelled': 0,
      'jobs-failed': 0,
    })
    const nobody = (await call('nobody', '/overview')).body
    expect(nobody).toMatchObject({
      'jobs-running': 0,
      'jobs-finished': 0,
      'jobs-cancelled': 0,
      'jobs-failed': 0,
    })
    expect((await call('root', '/overview')).body).toEqual(direct)
  })
})

describe('routes of one job', () => {
  it("refuse another team's job before Flink sees the request, in Flink's error shape", async () => {
    const refused = await call('ana', `/jobs/${fraud.id}`)
    expect(refused.status).toBe(403)
    expect(refused.code).toBe('FG_ERR_AUTHZ_JOB_OUT_OF_SCOPE')
    expect(refused.body).toEqual({
      errors: [
        `This job is not one of yours: job ${fraud.id} is not one of yours (you may see jobs Streaming *, Nightly*)`,
      ],
    })
    expect(forwarded(`/jobs/${fraud.id}`)).toBe(0)
  })

  it("refuse a cancel of another team's job (the job keeps running), and allow one's own", async () => {
    expect((await call('ana', `/jobs/${fraud.id}?mode=cancel`, 'PATCH')).status).toBe(403)
    expect(fraud.state).toBe('RUNNING')
    expect((await call('fritz', `/jobs/${fraud.id}/checkpoints`)).status).not.toBe(403)
    const extra = standin.state.addJob('Fraud Detection', 'RUNNING')
    expect((await call('fritz', `/jobs/${extra.id}?mode=cancel`, 'PATCH')).status).toBe(202)
    expect(extra.state).toBe('CANCELED')
  })

  it('answer an unknown id exactly as another team’s job: the refusal is no oracle of which ids exist', async () => {
    const unknown = 'ffffffffffffffffffffffffffffffff'
    const other = await call('ana', `/jobs/${fraud.id}/exceptions`)
    const none = await call('ana', `/jobs/${unknown}/exceptions`)
    expect(none.status).toBe(other.status)
    expect(none.code).toBe(other.code)
    expect((none.body.errors[0] as string).replace(unknown, 'ID')).toBe(
      (other.body.errors[0] as string).replace(fraud.id, 'ID'),
    )
  })

  it('never let an id in capitals (which Flink would parse as the same job) past the check', async () => {
    expect((await call('ana', `/jobs/${fraud.id.toUpperCase()}`)).status).toBe(400)
    expect((await call('ana', `/jobs/metrics?jobs=${fraud.id.toUpperCase()}`)).status).toBe(403)
    expect(standin.record.count).toBe(0)
  })

  it('find a job submitted a moment ago at once, though the list is cached for a minute', async () => {
    expect((await call('ana', `/jobs/${wordCount.id}`)).status).toBe(200)
    await new Promise((resolve) => setTimeout(resolve, 300))
    const fresh = standin.state.addJob('Streaming Sessions', 'RUNNING')
    expect((await call('ana', `/jobs/${fresh.id}`)).status).toBe(200)
    expect((await call('fritz', `/jobs/${fresh.id}`)).status).toBe(403)
  })

  it("reuse Flink's job list within cacheMs: many calls on known jobs, at most one list fetch", async () => {
    await call('ana', `/jobs/${wordCount.id}`)
    standin.record.reset()
    for (let i = 0; i < 10; i++) await call('ana', `/jobs/${wordCount.id}/exceptions`)
    expect(forwarded('/jobs/overview')).toBe(0)
    expect(forwarded(`/jobs/${wordCount.id}/exceptions`)).toBe(10)
  })

  it('bound the lookups made-up ids cause: 30 at once share one list fetch, and all are refused', async () => {
    const made = Array.from({ length: 30 }, (_, i) => `/jobs/${i.toString(16).padStart(32, 'a')}`)
    const answers = await Promise.all(made.map((path) => call('ana', path)))
    expect(answers.map((answer) => answer.status)).toEqual(made.map(() => 403))
    expect(forwarded('/jobs/overview')).toBeLessThanOrEqual(2)
  })
})

describe('a refusal by job scope', () => {
  it('is in the audit line as a denial, with the job it was for', async () => {
    await call('ana', `/jobs/${fraud.id}?mode=cancel`, 'PATCH')
    const audits = () =>
      proxy.rawLogs.map((line) => JSON.parse(line)).filter((line) => line.audit?.jobId === fraud.id)
    await eventually(() => audits().length > 0)
    expect(audits().at(-1).audit).toMatchObject({
      subject: 'ana',
      allowed: false,
      denial: 'FG_ERR_AUTHZ_JOB_OUT_OF_SCOPE',
      action: 'PATCH /jobs/:jobid',
      status: 403,
    })
  })

  it('covers a route it does not know under /jobs, even one a rule allows: refused, not waved through', async () => {
    const refused = await call('ana', `/jobs/${wordCount.id}/made-up`)
    expect(refused.status).toBe(403)
    expect(refused.body.errors[0]).toMatch(/cannot be judged by job/)
    expect(standin.record.count).toBe(0)
  })
})

describe('/jobs/metrics', () => {
  it('must name its jobs, all of them the caller’s', async () => {
    expect((await call('ana', '/jobs/metrics')).code).toBe('FG_ERR_AUTHZ_JOB_OUT_OF_SCOPE')
    // The caller's own job goes to Flink (the stand-in has no /jobs/metrics; real Flink's answer is in
    // test/flink/job-scope.test.ts).
    expect((await call('ana', `/jobs/metrics?jobs=${wordCount.id}`)).code).toBeUndefined()
    expect(forwarded(`/jobs/metrics?jobs=${wordCount.id}`)).toBe(1)
    expect((await call('ana', `/jobs/metrics?jobs=${wordCount.id},${fraud.id}`)).status).toBe(403)
    expect((await call('ana', `/jobs/metrics?jobs=${wordCount.id}&jobs=${fraud.id}`)).status).toBe(403)
    // Netty's decoder also splits at ";": refused rather than read differently.
    expect((await call('ana', `/jobs/metrics?jobs=${wordCount.id};jobs=${fraud.id}`)).status).toBe(403)
    expect((await call('ana', '/jobs/metrics?jobs=not-a-job')).status).toBe(403)
    // Forms Netty reads differently from URLSearchParams: Flink would see no jobs (every job aggregated) or
    // another team's (src/authz/flink-query.ts).
    for (const query of [
      `?jobs=${wordCount.id}&get=uptime`,
      `jobs=${wordCount.id}&=jobs=${fraud.id}`,
      `get=uptime&${'a&'.repeat(1023)}jobs=${wordCount.id}`,
    ]) {
      const refused = await call('ana', `/jobs/metrics?${query}`)
      expect(refused.code, query.slice(0, 60)).toBe('FG_ERR_AUTHZ_JOB_OUT_OF_SCOPE')
    }
    expect(standin.record.requests.filter((sent) => sent.url.startsWith('/jobs/metrics')).length).toBe(1)
  })
})

describe('cluster data sets (2.x)', () => {
  it('are only for a caller whose grant names every job: one team may not list or delete another’s', async () => {
    const refused = await call('ana', '/datasets')
    expect(refused.code).toBe('FG_ERR_AUTHZ_JOB_OUT_OF_SCOPE')
    expect((await call('ana', `/datasets/${'b'.repeat(32)}`, 'DELETE')).status).toBe(403)
    expect(forwarded('/datasets')).toBe(0)
    // root's grant is '*': the request goes to Flink (the stand-in has no data sets: its own 404).
    expect((await call('root', '/datasets')).code).toBeUndefined()
    expect(forwarded('/datasets')).toBe(1)
  })
})

describe('a job list Flink does not answer with 200', () => {
  it('is refused rather than passed on uncut (a 204, a redirect or a compressed answer in front of Flink)', async () => {
    const odd = createServer((req, res) => {
      if (req.url === '/jobs/overview')
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"jobs":[]}')
      else if (req.url === '/jobs') res.writeHead(204).end()
      else if (req.url === '/applications/overview')
        res
          .writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' })
          .end('{"applications":[]}')
      else res.writeHead(302, { location: '/elsewhere' }).end()
    })
    await new Promise<void>((resolve) => odd.listen(0, '127.0.0.1', resolve))
    const behind = await startProxy(`http://127.0.0.1:${(odd.address() as AddressInfo).port}`, {
      auth: { basic: { htpasswd: htpasswdFor(['ana']), users: { ana: ['streaming'] } } },
      authz: {
        roles: { streaming: 'viewer' },
        jobScope: { grants: [{ roles: ['streaming'], names: ['*'] }] },
      },
    })
    try {
      for (const path of ['/jobs', '/overview', '/applications/overview']) {
        const response = await request(`${behind.proxyUrl}${path}`, {
          headers: { authorization: basicAuth('ana') },
        })
        await response.body.dump()
        expect(response.statusCode, path).toBe(502)
        expect(response.headers['x-flink-guard-error']).toBe('FG_ERR_UPSTREAM_BAD_RESPONSE')
      }
    } finally {
      await behind.close(1_000)
      odd.close()
    }
  })
})

describe('a Flink that is down', () => {
  it('makes a job route 503, never an allowed guess', async () => {
    const dead = await startProxy('http://127.0.0.1:9', {
      auth: { basic: { htpasswd: htpasswdFor(['ana']), users: { ana: ['streaming'] } } },
      authz: {
        roles: { streaming: 'operator' },
        jobScope: { grants: [{ roles: ['streaming'], names: ['*'] }] },
      },
    })
    try {
      const response = await request(`${dead.proxyUrl}/jobs/${wordCount.id}`, {
        headers: { authorization: basicAuth('ana') },
      })
      expect(response.statusCode).toBe(503)
      expect(response.headers['x-flink-guard-error']).toBe('FG_ERR_UPSTREAM_UNAVAILABLE')
      await response.body.dump()
    } finally {
      await dead.close(1_000)
    }
  })
})
