import { request } from 'undici'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import type { RunningServer } from '../../src/server.js'
import { basicAuth, htpasswdFor, startGateway } from './support/gateway.js'
import { RawConnection } from './support/raw-http.js'
import {
  type ApplicationMasterStandin,
  flinkApp,
  type ResourceManagerStandin,
  startApplicationMaster,
  startConnectionCounter,
  startResourceManager,
} from './support/yarn.js'

/**
 * YARN discovery against a ResourceManager stand-in pair (HA) and application-master stand-ins (issue 16,
 * items 2-4): routing only what the RM says is a RUNNING Flink at an allowlisted address whose Flink proves
 * to be that application, and nothing of the user's session crossing to the application master.
 */

const RUNNING = 'application_1700000000000_0001'
const ACCEPTED = 'application_1700000000000_0002'
const NO_ADDRESS = 'application_1700000000000_0003'
const FINISHED = 'application_1700000000000_0004'
const MAPREDUCE = 'application_1700000000000_0005'
const IMPOSTOR = 'application_1700000000000_0006'
const QUEUED = 'application_1700000000000_0007'
const CACHE_MS = 300
const HISTORY = 'https://history.example.com/flink/'
const JOB = 'a1b2c3d4e5f60718293a4b5c6d7e8f90'
/** A browser's top-level page load, as Chromium sends it. */
const NAVIGATION = { accept: 'text/html,application/xhtml+xml,*/*;q=0.8', 'sec-fetch-mode': 'navigate' }

let rm1: ResourceManagerStandin
let rm2: ResourceManagerStandin
let am: ApplicationMasterStandin
let impostor: ApplicationMasterStandin
let queued: ApplicationMasterStandin
let gateway: RunningServer

beforeAll(async () => {
  ;[rm1, rm2, am, impostor, queued] = await Promise.all([
    startResourceManager(),
    startResourceManager(),
    startApplicationMaster(RUNNING),
    startApplicationMaster('application_1700000000000_9999'),
    startApplicationMaster(QUEUED),
  ])
  for (const rm of [rm1, rm2]) {
    rm.apps.set(RUNNING, flinkApp(RUNNING, `127.0.0.1:${am.port}`))
    rm.apps.set(ACCEPTED, flinkApp(ACCEPTED, null, { state: 'ACCEPTED', progress: 0 }))
    rm.apps.set(NO_ADDRESS, flinkApp(NO_ADDRESS, null))
    rm.apps.set(FINISHED, flinkApp(FINISHED, null, { state: 'FINISHED', finalStatus: 'SUCCEEDED' }))
    rm.apps.set(MAPREDUCE, flinkApp(MAPREDUCE, `127.0.0.1:${am.port}`, { applicationType: 'MAPREDUCE' }))
    rm.apps.set(IMPOSTOR, flinkApp(IMPOSTOR, `127.0.0.1:${impostor.port}`))
    rm.apps.set(
      QUEUED,
      flinkApp(QUEUED, `127.0.0.1:${queued.port}`, { user: 'erin', queue: 'root.analytics' }),
    )
  }
  rm1.standbyOf = rm2.url
  gateway = await startGateway({
    auth: {
      basic: {
        htpasswd: htpasswdFor(['bob', 'carol', 'dave', 'mallory']),
        users: {
          bob: [],
          carol: ['viewers'],
          dave: ['analytics-admins'],
          mallory: ['yarn:owner', 'yarn:queue:root.analytics:analytics-admins'],
        },
      },
    },
    authz: { roles: { viewers: 'viewer' } },
    yarn: {
      resourceManagers: [rm1.url, rm2.url],
      user: 'flink-guard',
      cacheMs: CACHE_MS,
      allowedHosts: ['127.0.0.1'],
      allowedPorts: [String(am.port), String(impostor.port), String(queued.port)],
      hostSuffix: '.yarn.test',
      historyServerUrl: HISTORY,
      authz: { owner: 'deployer', queues: { 'root.analytics': { 'analytics-admins': 'operator' } } },
    },
  })
})
afterAll(async () => {
  await gateway.close(1_000)
  await Promise.all([rm1, rm2, am, impostor, queued].map((server) => server.close()))
})
beforeEach(async () => {
  // Every test starts with an expired cache.
  await new Promise((resolve) => setTimeout(resolve, CACHE_MS + 50))
})

async function get(path: string, user = 'carol', headers: Record<string, string> = {}) {
  const response = await request(`${gateway.proxyUrl}${path}`, {
    headers: { authorization: basicAuth(user), ...headers },
  })
  const text = await response.body.text()
  return {
    status: response.statusCode,
    headers: response.headers,
    text,
    code: response.headers['x-flink-guard-error'],
  }
}

describe('routing a RUNNING Flink application', () => {
  it('forwards /proxy/<id>/rest to its application master as /rest, found through the active RM', async () => {
    const response = await get(`/proxy/${RUNNING}/jobs/overview?x=1`)
    expect(response.status).toBe(200)
    expect(JSON.parse(response.text)).toEqual({ served: RUNNING, path: '/jobs/overview?x=1' })
    // rm1 is standby: it redirected to rm2, which answered; the RM was asked as the configured user.
    expect(rm1.requests.at(-1)).toBe(`/ws/v1/cluster/apps/${RUNNING}?user.name=flink-guard`)
    expect(rm2.requests.at(-1)).toBe(`/ws/v1/cluster/apps/${RUNNING}?user.name=flink-guard`)
  })

  it('reaches the application by its host name too', async () => {
    const response = await get('/jobs/overview', 'carol', {
      host: 'application-1700000000000-0001.yarn.test',
    })
    expect(JSON.parse(response.text)).toEqual({ served: RUNNING, path: '/jobs/overview' })
  })

  it('redirects the bare prefix to the prefix with a slash', async () => {
    const response = await get(`/proxy/${RUNNING}`)
    expect(response.status).toBe(308)
    expect(response.headers.location).toBe(`/proxy/${RUNNING}/`)
  })

  it('asks the RM once per cacheMs however many requests come', async () => {
    const before = rm2.requests.length
    for (let i = 0; i < 5; i++) expect((await get(`/proxy/${RUNNING}/overview`)).status).toBe(200)
    expect(rm2.requests.length - before).toBe(1)
  })

  it("never hands the application master the client's cookies or Authorization, nor its Set-Cookie back", async () => {
    const response = await get(`/proxy/${RUNNING}/overview`, 'carol', {
      cookie: 'fg_session=secret; other=1',
    })
    expect(response.status).toBe(200)
    expect(response.headers['set-cookie']).toBeUndefined()
    const seen = am.received.at(-1)!
    expect(seen.url).toBe('/overview')
    expect(seen.headers.cookie).toBeUndefined()
    expect(seen.headers.authorization).toBeUndefined()
  })
})

describe('what is not routed', () => {
  it.each([
    [ACCEPTED, 503, 'FG_ERR_CLUSTER_STARTING'],
    [NO_ADDRESS, 503, 'FG_ERR_CLUSTER_STARTING'],
    [FINISHED, 404, 'FG_ERR_CLUSTER_FINISHED'],
    [MAPREDUCE, 404, 'FG_ERR_CLUSTER_UNKNOWN'],
    ['application_1700000000000_0404', 404, 'FG_ERR_CLUSTER_UNKNOWN'],
    [IMPOSTOR, 502, 'FG_ERR_CLUSTER_IDENTITY'],
  ])('%s: %i %s in Flink’s error shape', async (appId, status, code) => {
    const response = await get(`/proxy/${appId}/overview`)
    expect([response.status, response.code]).toEqual([status, code])
    expect(JSON.parse(response.text)).toEqual({ errors: [expect.any(String)] })
    if (status === 503) expect(Number(response.headers['retry-after'])).toBeGreaterThan(0)
  })

  it('the impostor was asked who it is and nothing else', () => {
    expect(impostor.received.map((r) => r.url)).toEqual(['/jobmanager/config'])
  })

  it.each([
    '/proxy/foo/overview',
    '/proxy/application_1_1/overview',
    '/proxy/application_1700000000000_0001x/overview',
  ])('answers %s with 404 without asking any RM', async (path) => {
    const before = rm1.requests.length + rm2.requests.length
    const response = await get(path)
    expect([response.status, response.code]).toEqual([404, 'FG_ERR_CLUSTER_UNKNOWN'])
    expect(rm1.requests.length + rm2.requests.length).toBe(before)
  })

  it('refuses a climb out of the prefix before any RM is asked', async () => {
    const before = rm1.requests.length + rm2.requests.length
    const connection = await RawConnection.open(gateway.proxyUrl)
    connection.write(
      `GET /proxy/${RUNNING}/../${IMPOSTOR}/overview HTTP/1.1\r\nHost: x\r\nAuthorization: ${basicAuth('carol')}\r\nConnection: close\r\n\r\n`,
    )
    expect((await connection.readResponse()).status).toBe(400)
    connection.close()
    expect(rm1.requests.length + rm2.requests.length).toBe(before)
  })
})

describe('a finished application and the history server', () => {
  it("sends a browser's page load to the history server's completed jobs (303)", async () => {
    for (const path of [`/proxy/${FINISHED}/`, `/proxy/${FINISHED}/overview`]) {
      const response = await get(path, 'carol', NAVIGATION)
      expect([response.status, response.headers.location]).toEqual([
        303,
        'https://history.example.com/flink/#/overview',
      ])
    }
  })

  it("sends it to the job's own page when the path names the job", async () => {
    const response = await get(`/proxy/${FINISHED}/v1/jobs/${JOB}/vertices`, 'carol', NAVIGATION)
    expect([response.status, response.headers.location]).toEqual([
      303,
      `https://history.example.com/flink/#/job/completed/${JOB}/overview`,
    ])
    const byHost = await get(`/jobs/${JOB}`, 'carol', {
      ...NAVIGATION,
      host: 'application-1700000000000-0004.yarn.test',
    })
    expect(byHost.headers.location).toBe(`https://history.example.com/flink/#/job/completed/${JOB}/overview`)
  })

  it.each([
    ['the dashboard’s XHR', { accept: 'application/json, text/plain, */*', 'sec-fetch-mode': 'cors' }],
    ['curl', { accept: '*/*' }],
    ['a page load that is not a GET', { ...NAVIGATION, method: 'POST' }],
  ])('keeps the 404 in Flink’s error shape for %s, naming the history server', async (_, headers) => {
    const { method = 'GET', ...rest } = headers as Record<string, string>
    const response = await request(`${gateway.proxyUrl}/proxy/${FINISHED}/jobs/${JOB}`, {
      method: method as 'GET',
      headers: { authorization: basicAuth('carol'), ...rest },
    })
    expect([response.statusCode, response.headers['x-flink-guard-error']]).toEqual([
      404,
      'FG_ERR_CLUSTER_FINISHED',
    ])
    expect(await response.body.json()).toEqual({
      errors: [
        `The Flink application ${FINISHED} has finished; its jobs are in the history server at https://history.example.com/flink/`,
      ],
    })
  })

  it('redirects nothing that is not a finished Flink application', async () => {
    for (const appId of [ACCEPTED, MAPREDUCE, 'application_1700000000000_0404']) {
      const response = await get(`/proxy/${appId}/`, 'carol', NAVIGATION)
      expect(response.status).not.toBe(303)
      expect(response.headers.location).toBeUndefined()
    }
  })
})

describe("the application's own address in Flink's answers", () => {
  it('is its host form when hostSuffix is set, even through /proxy/<id>/ (the dashboard uploads only there)', async () => {
    const port = new URL(gateway.proxyUrl).port
    const viaPath = await get(`/proxy/${RUNNING}/jars`, 'bob', { host: `gw.test:${port}` })
    expect(JSON.parse(viaPath.text)).toEqual({
      address: `http://application-1700000000000-0001.yarn.test:${port}`,
      files: [],
    })
    const viaHost = await get('/jars', 'bob', { host: 'application-1700000000000-0001.yarn.test' })
    expect(JSON.parse(viaHost.text).address).toBe('http://application-1700000000000-0001.yarn.test')
  })

  it('is /proxy/<id> on the gateway without hostSuffix', async () => {
    const plain = await startGateway({
      auth: { anonymous: { roles: ['deployers'] } },
      authz: { roles: { deployers: 'deployer' } },
      yarn: {
        resourceManagers: [rm2.url],
        allowedHosts: ['127.0.0.1'],
        allowedPorts: [String(am.port)],
      },
    })
    try {
      const host = new URL(plain.proxyUrl).host
      const response = await request(`${plain.proxyUrl}/proxy/${RUNNING}/jars`)
      expect(await response.body.json()).toEqual({ address: `http://${host}/proxy/${RUNNING}`, files: [] })
      // Without historyServerUrl a finished application is the 404 for browsers too.
      const finishedPage = await request(`${plain.proxyUrl}/proxy/${FINISHED}/`, { headers: NAVIGATION })
      expect([finishedPage.statusCode, finishedPage.headers['x-flink-guard-error']]).toEqual([
        404,
        'FG_ERR_CLUSTER_FINISHED',
      ])
      // A browser's navigation reads the refusal page (src/error-page.ts), saying why.
      expect(finishedPage.headers['content-type']).toBe('text/html; charset=utf-8')
      expect(await finishedPage.body.text()).toContain('The Flink application has finished')
    } finally {
      await plain.close(1_000)
    }
  })
})

describe('the allowlist', () => {
  it('never connects to an address the RM names outside it', async () => {
    const outsideHost = await startConnectionCounter('127.0.0.2')
    const outsidePort = await startConnectionCounter('127.0.0.1')
    const cases = [
      ['application_1700000000000_0101', `127.0.0.2:${outsideHost.port}`],
      ['application_1700000000000_0102', `127.0.0.1:${outsidePort.port}`],
      ['application_1700000000000_0103', `localhost:${outsidePort.port}`],
      ['application_1700000000000_0104', `localhost:${am.port}`],
      ['application_1700000000000_0105', `[::1]:${am.port}`],
      ['application_1700000000000_0106', `127.0.0.1:${am.port}/x`],
      ['application_1700000000000_0107', `169.254.169.254:80`],
    ] as const
    try {
      for (const [appId, address] of cases) rm2.apps.set(appId, flinkApp(appId, address))
      for (const [appId, address] of cases) {
        const response = await get(`/proxy/${appId}/overview`)
        const expected = address.endsWith('/x') ? 'FG_ERR_CLUSTER_STARTING' : 'FG_ERR_CLUSTER_ADDRESS_REFUSED'
        expect([address, response.code]).toEqual([address, expected])
      }
      expect(outsideHost.connections).toBe(0)
      expect(outsidePort.connections).toBe(0)
    } finally {
      for (const [appId] of cases) rm2.apps.delete(appId)
      await Promise.all([outsideHost.close(), outsidePort.close()])
    }
  })

  it('does not follow a standby RM that redirects outside yarn.resourceManagers', async () => {
    const trap = await startConnectionCounter('127.0.0.1')
    const before = rm2.standbyOf
    rm2.standbyOf = `http://127.0.0.1:${trap.port}`
    rm1.standbyOf = `http://127.0.0.1:${trap.port}`
    try {
      const response = await get(`/proxy/${RUNNING}/overview`)
      expect([response.status, response.code]).toEqual([503, 'FG_ERR_CLUSTER_DISCOVERY'])
      expect(trap.connections).toBe(0)
    } finally {
      rm1.standbyOf = rm2.url
      rm2.standbyOf = before
      await trap.close()
    }
  })
})

describe('fail-over', () => {
  it('follows the RMs switching roles, and an application master moving', async () => {
    // RM fail-over: rm2 goes standby, rm1 becomes active.
    rm2.standbyOf = rm1.url
    rm1.standbyOf = null
    expect((await get(`/proxy/${RUNNING}/overview`)).status).toBe(200)
    expect(rm1.requests.at(-1)).toBe(`/ws/v1/cluster/apps/${RUNNING}?user.name=flink-guard`)

    // The AM restarts elsewhere: the old address stops answering, the RM reports the new one.
    const moved = await startApplicationMaster(RUNNING)
    const gatewayWithMove = await startGateway({
      auth: { anonymous: { roles: ['viewers'] } },
      authz: { roles: { viewers: 'viewer' } },
      yarn: {
        resourceManagers: [rm1.url],
        cacheMs: 60_000,
        allowedHosts: ['127.0.0.0/8'],
        allowedPorts: ['1024-65535'],
      },
    })
    const original = await startApplicationMaster(RUNNING)
    rm1.apps.set(RUNNING, flinkApp(RUNNING, `127.0.0.1:${original.port}`))
    try {
      const first = await request(`${gatewayWithMove.proxyUrl}/proxy/${RUNNING}/overview`)
      expect(JSON.parse(await first.body.text())).toMatchObject({ served: RUNNING })
      await original.close()
      rm1.apps.set(RUNNING, flinkApp(RUNNING, `127.0.0.1:${moved.port}`))
      // The cache would hold for a minute: the failure itself sends the gateway back to the RM.
      const during = await request(`${gatewayWithMove.proxyUrl}/proxy/${RUNNING}/overview`)
      expect(during.statusCode).toBe(503)
      await during.body.dump()
      const after = await request(`${gatewayWithMove.proxyUrl}/proxy/${RUNNING}/overview`)
      expect(after.statusCode).toBe(200)
      await after.body.dump()
      // The new address was proven before it served: /jobmanager/config first.
      expect(moved.received.map((r) => r.url)).toEqual(['/jobmanager/config', '/overview'])
    } finally {
      rm1.apps.set(RUNNING, flinkApp(RUNNING, `127.0.0.1:${am.port}`))
      await gatewayWithMove.close(1_000)
      await moved.close()
    }
  })
})

describe('authorization by owner and queue', () => {
  const upload = (appId: string, user: string) =>
    request(`${gateway.proxyUrl}/proxy/${appId}/jars/upload`, {
      method: 'POST',
      headers: { authorization: basicAuth(user), 'content-type': 'multipart/form-data; boundary=x' },
      body: '--x--\r\n',
    })

  it("makes the application's owner deployer on it, and nobody special elsewhere", async () => {
    const own = await upload(RUNNING, 'bob')
    expect(own.statusCode).toBe(200)
    await own.body.dump()
    const other = await upload(QUEUED, 'bob')
    expect([other.statusCode, other.headers['x-flink-guard-error']]).toEqual([403, 'FG_ERR_AUTHZ_NO_PRESET'])
    await other.body.dump()
  })

  it("makes the queue's admins operators on its applications only", async () => {
    const onQueue = await request(
      `${gateway.proxyUrl}/proxy/${QUEUED}/jobs/00000000000000000000000000000001`,
      {
        method: 'PATCH',
        headers: { authorization: basicAuth('dave') },
      },
    )
    expect(onQueue.statusCode).toBe(200)
    await onQueue.body.dump()
    const elsewhere = await get(`/proxy/${RUNNING}/overview`, 'dave')
    expect([elsewhere.status, elsewhere.code]).toEqual([403, 'FG_ERR_AUTHZ_NO_PRESET'])
  })

  it('ignores yarn: roles an identity brings itself', async () => {
    const forged = await upload(RUNNING, 'mallory')
    expect(forged.statusCode).toBe(403)
    await forged.body.dump()
    const queue = await get(`/proxy/${QUEUED}/overview`, 'mallory')
    expect(queue.status).toBe(403)
  })
})

describe('readiness and metrics', () => {
  it('reports the RMs at /readyz/clusters/yarn and counts under one label', async () => {
    const ready = await request(`${gateway.adminUrl}/readyz/clusters/yarn`)
    expect(await ready.body.json()).toEqual({ status: 'ready', cluster: 'yarn' })
    const metrics = await (await request(`${gateway.adminUrl}/metrics`)).body.text()
    expect(metrics).toMatch(/^flink_guard_cluster_requests_total\{cluster="yarn",status="200"\} \d+$/m)
    expect(metrics).not.toContain('application_')
  })
})
