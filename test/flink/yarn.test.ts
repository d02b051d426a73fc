import { readFileSync } from 'node:fs'
import type { Browser } from 'playwright-core'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RunningServer } from '../../src/server.js'
import { launchChromium } from '../e2e/support/chromium.js'
import { basicAuth, GATEWAY_PASSWORD, htpasswdFor, startGateway } from '../integration/support/gateway.js'
import { curl, fixture } from '../integration/support/tls-client.js'
import { startConnectionCounter } from '../integration/support/yarn.js'
import { jobState, runEndlessJob, waitForJobState } from './support/endless-job.js'
import { type FlinkCluster, startFlinkCluster } from './support/flink.js'
import { type MiniYarn, startMiniYarn } from './support/mini-yarn.js'

/**
 * flink-guard in front of a real YARN (issue 16, item 5): a MiniYARNCluster's ResourceManager and two
 * applications whose unmanaged AMs register real Flinks as Flink's own AM does; each Flink's
 * high-availability.cluster-id is its application id, as YarnClusterDescriptor sets it. The same requests go
 * through YARN's own proxy (the RM's /proxy/<id>/) and through flink-guard's, side by side.
 * Application A's Flink has a TaskManager, for the cancels of a running job; B's is a JobManager only.
 */

let yarn: MiniYarn
let a: FlinkCluster
let b: FlinkCluster
let appA: string
let appB: string
let gateway: RunningServer
const ALICE = basicAuth('alice')
const CACHE_MS = 200

beforeAll(async () => {
  yarn = await startMiniYarn()
  console.log(`MiniYARNCluster: started in ${yarn.startupMs} ms, RSS ${Math.round(yarn.rssKiB() / 1024)} MiB`)
  appA = await yarn.submit()
  appB = await yarn.submit()
  const flinkOf = (app: string, taskManager: boolean) =>
    startFlinkCluster({ taskManager, config: { 'high-availability.cluster-id': app } })
  ;[a, b] = await Promise.all([flinkOf(appA, true), flinkOf(appB, false)])
  gateway = await startGateway({
    tls: { cert: fixture('rest.signed.pem'), key: fixture('rest.signed.pem') },
    auth: { basic: { htpasswd: htpasswdFor(['alice']), users: { alice: ['flink-admins'] } } },
    authz: { roles: { 'flink-admins': 'admin' } },
    yarn: {
      resourceManagers: [yarn.rmUrl],
      user: 'flink-guard',
      cacheMs: CACHE_MS,
      allowedHosts: ['127.0.0.1'],
      allowedPorts: [String(a.restPort), String(b.restPort)],
    },
  })
})
afterAll(async () => {
  await gateway?.close(1_000)
  await Promise.all([a?.stop(), b?.stop()])
  await yarn?.stop()
})

const expire = () => new Promise((resolve) => setTimeout(resolve, CACHE_MS + 50))
const gw = (path: string) => `${gateway.proxyUrl.replace('http://', 'https://')}${path}`

/** curl (as a user runs it); the status and body. */
async function viaCurl(url: string, args: readonly string[] = []): Promise<{ status: number; body: string }> {
  const result = await curl([
    '--cacert',
    fixture('ca.pem'),
    '-H',
    `Authorization: ${ALICE}`,
    '-w',
    '\n%{http_code}',
    ...args,
    url,
  ])
  expect(result.code, result.stderr).toBe(0)
  const at = result.stdout.lastIndexOf('\n')
  return { status: Number(result.stdout.slice(at + 1)), body: result.stdout.slice(0, at) }
}

async function jarsOf(flink: FlinkCluster): Promise<string[]> {
  const response = await request(`${flink.restUrl}/jars`)
  const { files } = (await response.body.json()) as { files: { id: string }[] }
  return files.map((file) => file.id)
}

describe('discovery through the real RM', () => {
  it('answers 503 with Retry-After while the application is ACCEPTED (its AM not registered yet)', async () => {
    const response = await viaCurl(gw(`/proxy/${appA}/overview`), ['-i'])
    expect(response.status).toBe(503)
    expect(response.body).toMatch(/retry-after: \d+/i)
    expect(response.body).toContain('FG_ERR_CLUSTER_STARTING')
  })

  it('routes each application by id to its own Flink once its AM registered', async () => {
    await yarn.register(appA, a.restUrl)
    await yarn.register(appB, b.restUrl)
    await expire()
    for (const [app, flink] of [
      [appA, a],
      [appB, b],
    ] as const) {
      const response = await viaCurl(gw(`/proxy/${app}/jobmanager/config`))
      expect(response.status).toBe(200)
      const config = JSON.parse(response.body) as { key: string; value: string }[]
      expect(config.find((entry) => entry.key === 'high-availability.cluster-id')?.value).toBe(app)
      expect(config.find((entry) => entry.key === 'rest.port')?.value).toBe(String(flink.restPort))
    }
  })

  it('the RM reports the application as Flink’s AM registers it', async () => {
    const response = await request(`${yarn.rmUrl}/ws/v1/cluster/apps/${appA}?user.name=flink-guard`)
    const { app } = (await response.body.json()) as { app: Record<string, unknown> }
    expect(app).toMatchObject({
      state: 'RUNNING',
      applicationType: 'Apache Flink',
      amRPCAddress: `127.0.0.1:${a.restPort}`,
    })
    console.log(
      `RM app: trackingUrl ${app.trackingUrl}, amRPCAddress ${app.amRPCAddress}, queue ${app.queue}`,
    )
  })
})

describe('side by side with YARN’s own proxy, on the same application', () => {
  const yarnProxy = (path: string) => `${yarn.rmUrl}/proxy/${appA}${path}`
  const table: string[] = []
  afterAll(() => console.log(`request | YARN proxy | flink-guard\n${table.join('\n')}`))

  async function both(label: string, path: string, args: readonly string[] = []) {
    const viaYarn = await viaCurl(yarnProxy(path), args)
    const viaGuard = await viaCurl(gw(`/proxy/${appA}${path}`), args)
    table.push(`${label} | ${viaYarn.status} | ${viaGuard.status}`)
    return { viaYarn, viaGuard }
  }

  it('GET /overview: both', async () => {
    const { viaYarn, viaGuard } = await both('GET /overview', '/overview')
    expect([viaYarn.status, viaGuard.status]).toEqual([200, 200])
  })

  it('curl -F jarfile=@job.jar .../jars/upload: flink-guard uploads it, YARN’s proxy does not', async () => {
    const before = await jarsOf(a)
    const { viaYarn, viaGuard } = await both('POST /jars/upload (curl -F)', '/jars/upload', [
      '-F',
      `jarfile=@${a.build.jobJar}`,
    ])
    expect(viaGuard.status).toBe(200)
    expect(JSON.parse(viaGuard.body)).toMatchObject({ status: 'success' })
    expect(viaYarn.status).toBe(405)
    // Exactly one new jar: flink-guard's.
    expect((await jarsOf(a)).length).toBe(before.length + 1)
  })

  it('DELETE /jars/<id>: flink-guard deletes it, YARN’s proxy does not', async () => {
    const [jar] = await jarsOf(a)
    const { viaYarn, viaGuard } = await both('DELETE /jars/:id', `/jars/${jar}`, ['-X', 'DELETE'])
    expect(viaYarn.status).toBe(405)
    expect(viaGuard.status).toBe(200)
    expect(await jarsOf(a)).not.toContain(jar)
  })

  it('PATCH /jobs/<id>?mode=cancel on a running job: flink-guard cancels it, YARN’s proxy does not', async () => {
    const { jobId } = await runEndlessJob(a, 'fg-yarn-patch')
    const patch = ['-X', 'PATCH']
    // HttpServlet's answer to a method WebAppProxyServlet does not implement; the job runs on.
    const viaYarn = await viaCurl(yarnProxy(`/jobs/${jobId}?mode=cancel`), patch)
    expect(viaYarn.status).toBe(501)
    expect(await jobState(a, jobId)).toBe('RUNNING')
    const viaGuard = await viaCurl(gw(`/proxy/${appA}/jobs/${jobId}?mode=cancel`), patch)
    table.push(`PATCH /jobs/:id?mode=cancel | ${viaYarn.status} | ${viaGuard.status}`)
    expect(viaGuard.status).toBe(202)
    await waitForJobState(a, jobId, 'CANCELED')
  })

  it('GET /jobs/<id>/yarn-cancel (the dashboard’s cancel): both cancel the running job', async () => {
    const viaYarn = await runEndlessJob(a, 'fg-yarn-cancel-yarn')
    const yarnAnswer = await viaCurl(yarnProxy(`/jobs/${viaYarn.jobId}/yarn-cancel`))
    await waitForJobState(a, viaYarn.jobId, 'CANCELED')
    const viaGuard = await runEndlessJob(a, 'fg-yarn-cancel-guard')
    const guardAnswer = await viaCurl(gw(`/proxy/${appA}/jobs/${viaGuard.jobId}/yarn-cancel`))
    await waitForJobState(a, viaGuard.jobId, 'CANCELED')
    table.push(`GET /jobs/:id/yarn-cancel | ${yarnAnswer.status} | ${guardAnswer.status}`)
    expect([yarnAnswer.status, guardAnswer.status]).toEqual([202, 202])
    expect(await jobState(a, viaGuard.jobId)).toBe('CANCELED')
  })
})

describe('the dashboard of each application in Chromium, under /proxy/<id>/', () => {
  let browser: Browser
  beforeAll(async () => {
    browser = await launchChromium(readFileSync(fixture('rest.signed.pem'), 'utf8'))
  })
  afterAll(async () => {
    await browser?.close()
  })

  it.each([0, 1])('loads application %i’s dashboard, and its calls stay under its prefix', async (index) => {
    const app = [appA, appB][index]!
    const base = gw('').replace('https://127.0.0.1', 'https://localhost')
    const context = await browser.newContext({
      httpCredentials: { username: 'alice', password: GATEWAY_PASSWORD },
    })
    const page = await context.newPage()
    const api: string[] = []
    page.on('request', (sent) => {
      if (['xhr', 'fetch'].includes(sent.resourceType())) api.push(sent.url())
    })
    try {
      await page.goto(`${base}/proxy/${app}`)
      expect(page.url().split('#')[0]).toBe(`${base}/proxy/${app}/`)
      await expect.poll(() => page.title(), { timeout: 20_000 }).toBe('Apache Flink Web Dashboard')
      // The dashboard's first calls (both lines ask for its config), all under the application's prefix.
      await expect.poll(() => api, { timeout: 20_000 }).toContain(`${base}/proxy/${app}/config`)
      // ... and then its overview page's polling (both lines ask for the cluster overview).
      await expect.poll(() => api, { timeout: 20_000 }).toContain(`${base}/proxy/${app}/overview`)
      // flink-guard's banner, on both lines' dashboards, from who-am-I under the same prefix.
      expect(await page.locator('.flink-guard-banner').innerText({ timeout: 20_000 })).toMatch(
        /^Signed in as alice \(basic\) · role admin\b/,
      )
      expect(api).toContain(`${base}/proxy/${app}/_flink-guard/whoami`)
      expect(api.filter((url) => !url.startsWith(`${base}/proxy/${app}/`))).toEqual([])
    } finally {
      await context.close()
    }
  })
})

describe('an application that finishes', () => {
  it('is answered 404 FG_ERR_CLUSTER_FINISHED, never forwarded to its old address', async () => {
    await yarn.finish(appB)
    await expire()
    const response = await viaCurl(gw(`/proxy/${appB}/overview`), ['-i'])
    expect(response.status).toBe(404)
    expect(response.body).toContain('FG_ERR_CLUSTER_FINISHED')
    // YARN's proxy, for comparison: a redirect to the history link (none is configured here).
    const viaYarn = await viaCurl(`${yarn.rmUrl}/proxy/${appB}/overview`, ['-i'])
    expect(viaYarn.status).toBe(302)
    console.log(
      `finished app via YARN proxy: ${viaYarn.status} ${/location: .*/i.exec(viaYarn.body)?.[0] ?? ''}`,
    )
  })

  it('leaves the other application routed', async () => {
    expect((await viaCurl(gw(`/proxy/${appA}/overview`))).status).toBe(200)
  })
})

describe('the allowlist against a real RM answer', () => {
  it('never connects to an AM address outside it', async () => {
    const outside = await startConnectionCounter('127.0.0.1')
    try {
      const app = await yarn.submit()
      await yarn.register(app, `http://127.0.0.1:${outside.port}`)
      const response = await viaCurl(gw(`/proxy/${app}/overview`), ['-i'])
      expect(response.body).toContain('FG_ERR_CLUSTER_ADDRESS_REFUSED')
      expect(outside.connections).toBe(0)
    } finally {
      await outside.close()
    }
  })
})
