import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Browser } from 'playwright-core'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchChromium, SCREENSHOTS } from '../e2e/support/chromium.js'
import { basicAuth, GATEWAY_PASSWORD, htpasswdFor } from '../integration/support/gateway.js'
import { startProxy, type TestProxy } from '../integration/support/proxy.js'
import { fixture } from '../integration/support/tls-client.js'
import { jobState, runEndlessJob, waitForJobState } from './support/endless-job.js'
import { FLINK_VERSION, type FlinkCluster, startFlinkCluster } from './support/flink.js'
import { type FlinkCli, type FlinkCliResult, flinkCli } from './support/flink-cli.js'

/**
 * Two teams on one real Flink session cluster (authz.jobScope): alice's team runs `team-a-*`, bob's
 * `team-b-*`, both operators. Through flink-guard each sees and operates only its own jobs: in Flink's REST
 * answers, with the real `flink` CLI, and in the real dashboard in Chromium. What Flink itself says (asked
 * directly) shows what was and was not done.
 */

let flink: FlinkCluster
let proxy: TestProxy
let cli: FlinkCli
let browser: Browser
const jobs = { orders: '', spare: '', billing: '' }
const ALICE = basicAuth('alice')
const BOB = basicAuth('bob')
const output = (result: FlinkCliResult) => `${result.stdout}\n${result.stderr}`
const as = (authorization: string) => ({ FLINK_REST_CLIENT_HEADERS: `Authorization:${authorization}` })
const UI_TIMEOUT_MS = 30_000

beforeAll(async () => {
  flink = await startFlinkCluster({ slots: 4 })
  jobs.orders = (await runEndlessJob(flink, 'team-a-orders')).jobId
  jobs.spare = (await runEndlessJob(flink, 'team-a-spare')).jobId
  jobs.billing = (await runEndlessJob(flink, 'team-b-billing')).jobId
  proxy = await startProxy(flink.restUrl, {
    auth: {
      basic: { htpasswd: htpasswdFor(['alice', 'bob']), users: { alice: ['team-a'], bob: ['team-b'] } },
    },
    authz: {
      roles: { 'team-a': 'operator', 'team-b': 'operator' },
      jobScope: {
        grants: [
          { roles: ['team-a'], names: ['team-a-*'] },
          { roles: ['team-b'], names: ['team-b-*'] },
        ],
      },
    },
  })
  cli = flinkCli(flink.build)
  browser = await launchChromium(readFileSync(fixture('rest.signed.pem'), 'utf8'))
})
afterAll(async () => {
  await browser?.close()
  await proxy?.close(1_000)
  await flink?.stop()
})

async function viaProxy(path: string, authorization: string, method: 'GET' | 'POST' = 'GET', body?: string) {
  const response = await request(`${proxy.proxyUrl}${path}`, {
    method,
    headers: { authorization, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body,
  })
  return {
    status: response.statusCode,
    code: response.headers['x-flink-guard-error'],
    body: (await response.body.json()) as Record<string, unknown> & { errors?: string[] },
  }
}
const direct = async (path: string) =>
  (await (await request(`${flink.restUrl}${path}`)).body.json()) as Record<string, unknown>
const namesIn = (body: Record<string, unknown>) =>
  (body.jobs as { name: string }[]).map((job) => job.name).sort()

describe('through the REST API', () => {
  it('/jobs/overview lists only the caller’s jobs; Flink itself lists all three', async () => {
    expect(namesIn(await direct('/jobs/overview'))).toEqual([
      'team-a-orders',
      'team-a-spare',
      'team-b-billing',
    ])
    expect(namesIn((await viaProxy('/jobs/overview', ALICE)).body)).toEqual(['team-a-orders', 'team-a-spare'])
    expect(namesIn((await viaProxy('/jobs/overview', BOB)).body)).toEqual(['team-b-billing'])
  })

  it('/jobs and /overview count only the caller’s jobs', async () => {
    const ids = (await viaProxy('/jobs', BOB)).body.jobs as { id: string }[]
    expect(ids.map((job) => job.id)).toEqual([jobs.billing])
    const overview = await direct('/overview')
    expect(overview['jobs-running']).toBe(3)
    expect((await viaProxy('/overview', ALICE)).body).toEqual({
      ...overview,
      'jobs-running': 2,
      'slots-available': expect.any(Number),
    })
    expect((await viaProxy('/overview', BOB)).body).toMatchObject({ 'jobs-running': 1, taskmanagers: 1 })
  })

  it('2.x: /applications/overview lists only the caller’s applications (1.20 has none)', async () => {
    const answer = await request(`${proxy.proxyUrl}/applications/overview`, {
      headers: { authorization: BOB },
    })
    const body = (await answer.body.json()) as { applications?: { id: string; name: string }[] }
    if (FLINK_VERSION.startsWith('1.')) {
      expect(answer.statusCode).toBe(404)
      return
    }
    expect(answer.statusCode).toBe(200)
    expect(body.applications!.map((app) => app.id)).toEqual([jobs.billing])
    expect(((await direct('/applications/overview')).applications as unknown[]).length).toBe(3)
  })

  it('per-job routes of another team’s job are refused; Flink records no savepoint for it', async () => {
    const before = (await direct(`/jobs/${jobs.billing}/checkpoints`)).counts
    const detail = await viaProxy(`/jobs/${jobs.billing}`, ALICE)
    expect(detail.status).toBe(403)
    expect(detail.code).toBe('FG_ERR_AUTHZ_JOB_OUT_OF_SCOPE')
    const savepoint = await viaProxy(
      `/jobs/${jobs.billing}/savepoints`,
      ALICE,
      'POST',
      '{"cancel-job":false}',
    )
    expect(savepoint.status).toBe(403)
    expect(savepoint.body).toEqual({
      errors: [expect.stringMatching(/^This job is not one of yours: job [0-9a-f]{32} is not one of yours/)],
    })
    expect((await viaProxy(`/jobs/${jobs.orders}`, ALICE)).body).toMatchObject({ name: 'team-a-orders' })
    expect((await direct(`/jobs/${jobs.billing}/checkpoints`)).counts).toEqual(before)
  })

  it('/jobs/metrics is answered by Flink for one’s own jobs and refused for another team’s', async () => {
    const own = await request(`${proxy.proxyUrl}/jobs/metrics?jobs=${jobs.orders}&get=uptime`, {
      headers: { authorization: ALICE },
    })
    expect(own.statusCode).toBe(200)
    expect(await own.body.json()).toEqual([expect.objectContaining({ id: 'uptime' })])
    expect(
      (await viaProxy(`/jobs/metrics?jobs=${jobs.orders},${jobs.billing}&get=uptime`, ALICE)).status,
    ).toBe(403)
    expect((await viaProxy('/jobs/metrics?get=uptime', ALICE)).status).toBe(403)
    // Queries Flink's Netty decoder reads differently: "??jobs" names no jobs there (every job aggregated),
    // "&=jobs=" adds one; both refused before Flink sees them.
    for (const query of [
      `?jobs=${jobs.orders}&get=uptime`,
      `jobs=${jobs.orders}&=jobs=${jobs.billing}&get=uptime`,
    ]) {
      expect((await viaProxy(`/jobs/metrics?${query}`, ALICE)).code).toBe('FG_ERR_AUTHZ_JOB_OUT_OF_SCOPE')
    }
    // Data sets are every job's: refused to a team.
    expect((await viaProxy('/datasets', ALICE)).code).toBe('FG_ERR_AUTHZ_JOB_OUT_OF_SCOPE')
  })
})

describe('with the real flink CLI', () => {
  const target = () => proxy.proxyUrl

  it('`flink list` shows alice only her team’s jobs', async () => {
    const result = await cli.run(['list', '-m', target()], as(ALICE))
    expect(result.code, output(result)).toBe(0)
    expect(result.stdout).toContain(`${jobs.orders} : team-a-orders (RUNNING)`)
    expect(result.stdout).not.toContain('team-b-billing')
    expect(result.stdout).not.toContain(jobs.billing)
  })

  it('`flink cancel` of bob’s job fails for alice with flink-guard’s message; the job keeps running', async () => {
    const result = await cli.run(['cancel', '-m', target(), jobs.billing], as(ALICE))
    expect(result.code).not.toBe(0)
    expect(output(result)).toContain('This job is not one of yours')
    expect(output(result)).not.toContain('Cancelled job')
    expect(await jobState(flink, jobs.billing)).toBe('RUNNING')
  })

  it('`flink cancel` of her own job works for alice', async () => {
    const result = await cli.run(['cancel', '-m', target(), jobs.spare], as(ALICE))
    expect(result.code, output(result)).toBe(0)
    expect(result.stdout).toContain(`Cancelled job ${jobs.spare}`)
    await waitForJobState(flink, jobs.spare, 'CANCELED')
    // Her counts follow Flink's (from a job list at most 250 ms old): one running, one cancelled; bob's
    // are untouched.
    await expect
      .poll(async () => (await viaProxy('/overview', ALICE)).body, { timeout: 3_000 })
      .toMatchObject({ 'jobs-running': 1, 'jobs-cancelled': 1 })
    expect((await viaProxy('/overview', BOB)).body).toMatchObject({ 'jobs-running': 1, 'jobs-cancelled': 0 })
  })
})

describe('in the real dashboard (Chromium)', () => {
  it.each([
    ['alice', 'team-a-orders', 'team-b-billing'],
    ['bob', 'team-b-billing', 'team-a-orders'],
  ])('%s sees %s and not %s', async (user, own, other) => {
    const context = await browser.newContext({
      httpCredentials: { username: user, password: GATEWAY_PASSWORD },
      viewport: { width: 1400, height: 860 },
    })
    const page = await context.newPage()
    const api: string[] = []
    page.on('request', (sent) => {
      if (['xhr', 'fetch'].includes(sent.resourceType())) api.push(new URL(sent.url()).pathname)
    })
    try {
      await page.goto(`${proxy.proxyUrl}/`)
      // 1.20's overview lists running jobs (jobs/overview); 2.x's lists applications (applications/overview).
      await page.getByText(own).first().waitFor({ timeout: UI_TIMEOUT_MS })
      const listCall = FLINK_VERSION.startsWith('1.') ? '/jobs/overview' : '/applications/overview'
      await expect
        .poll(() => api.filter((path) => path === listCall).length, { timeout: UI_TIMEOUT_MS })
        .toBeGreaterThanOrEqual(2)
      expect(await page.getByText(other).count()).toBe(0)
      await page.screenshot({ path: join(SCREENSHOTS, `job-scope-${FLINK_VERSION}-${user}.png`) })
      // README.md shows alice's view on the LTS; rewritten only with UPDATE_SCREENSHOTS=1.
      if (process.env.UPDATE_SCREENSHOTS === '1' && FLINK_VERSION.startsWith('1.') && user === 'alice') {
        await page.screenshot({
          path: join(import.meta.dirname, '../../docs/screenshots/flink-dashboard-job-scope.png'),
        })
      }
    } finally {
      await context.close()
    }
  })
})
