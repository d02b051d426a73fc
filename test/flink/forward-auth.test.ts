import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { hashSync } from '@node-rs/bcrypt'
import { Client, FormData, request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { forwardAuthLocations } from '../../bench/nginx.js'
import { type Standin, startStandin } from '../../src/standin/server.js'
import { startProxy, type TestProxy } from '../integration/support/proxy.js'
import { jobState, type RunningJob, runEndlessJob, waitForJobState } from './support/endless-job.js'
import { type FlinkCluster, startFlinkCluster } from './support/flink.js'
import { type RunningNginx, startNginx } from './support/nginx.js'

/**
 * Forward-auth mode with a real NGINX (Debian's) in front: auth_request asks flink-guard about every request,
 * then NGINX forwards it itself, to a real Flink and to the stand-in. The NGINX side is forwardAuthLocations(),
 * the text docs/forward-auth.md shows.
 */

const PASSWORD = 'correct horse battery staple'
const basic = (user: string) => `Basic ${Buffer.from(`${user}:${PASSWORD}`).toString('base64')}`

let flink: FlinkCluster
let standin: Standin
let guard: TestProxy
let toFlink: RunningNginx
let toStandin: RunningNginx
let job: RunningJob

beforeAll(async () => {
  ;[flink, standin] = await Promise.all([startFlinkCluster(), startStandin()])
  const dir = mkdtempSync(join(tmpdir(), 'fg-forward-auth-'))
  const htpasswd = join(dir, 'users.htpasswd')
  const hash = hashSync(PASSWORD, 4).replace(/^\$2b\$/, '$2y$')
  writeFileSync(htpasswd, ['vera', 'otto', 'dora'].map((user) => `${user}:${hash}\n`).join(''))
  // flink-guard's own upstream is unused here (NGINX forwards), but names the Flink it answers for.
  guard = await startProxy(flink.restUrl, {
    auth: {
      basic: { htpasswd, users: { vera: ['viewers'], otto: ['operators'], dora: ['deployers'] } },
    },
    authz: {
      roles: { viewers: 'viewer', operators: 'operator', deployers: 'deployer' },
      // NGINX names the client in X-Forwarded-For (the throttle and the network allowlist read it).
      trustedProxies: ['127.0.0.1'],
    },
    forwardAuth: { enabled: true },
  })
  const upstreams = (flinkUrl: string) =>
    `upstream flink { server ${new URL(flinkUrl).host}; keepalive 8; }\n  upstream guard { server ${new URL(guard.proxyUrl).host}; keepalive 8; }`
  ;[toFlink, toStandin] = await Promise.all([
    startNginx(forwardAuthLocations('flink', 'guard'), upstreams(flink.restUrl)),
    startNginx(forwardAuthLocations('flink', 'guard'), upstreams(standin.url)),
  ])
  job = await runEndlessJob(flink, 'orders-v3')
})
afterAll(async () => {
  await Promise.all([toFlink?.stop(), toStandin?.stop()])
  await guard?.close(1_000)
  await Promise.all([flink?.stop(), standin?.close()])
})

async function through(
  nginx: RunningNginx,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: FormData | string,
) {
  // A Client sends the path as written: request(url) would resolve %2e%2e through a URL before it left.
  const client = new Client(nginx.url)
  try {
    const response = await client.request({
      path,
      method: method as 'GET',
      headers,
      ...(body === undefined ? {} : { body }),
    })
    const text = await response.body.text()
    return { status: response.statusCode, headers: response.headers, text }
  } finally {
    await client.close()
  }
}

describe('NGINX auth_request to flink-guard in front of a real Flink', () => {
  it("serves a viewer Flink's own job list", async () => {
    const response = await through(toFlink, 'GET', '/jobs/overview', { authorization: basic('vera') })
    expect(response.status).toBe(200)
    const ids = (JSON.parse(response.text) as { jobs: { jid: string }[] }).jobs.map((entry) => entry.jid)
    expect(ids).toContain(job.jobId)
  })

  it('answers a request without credentials with 401 and the Basic challenge', async () => {
    const response = await through(toFlink, 'GET', '/jobs/overview')
    expect(response.status).toBe(401)
    expect(response.headers['www-authenticate']).toMatch(/^Basic realm=/)
  })

  it("refuses a viewer's cancel, and Flink's job runs on", async () => {
    const response = await through(toFlink, 'PATCH', `/jobs/${job.jobId}?mode=cancel`, {
      authorization: basic('vera'),
    })
    expect(response.status).toBe(403)
    expect(response.headers['x-flink-guard-error']).toBe('FG_ERR_AUTHZ_PRESET_INSUFFICIENT')
    expect(await jobState(flink, job.jobId)).toBe('RUNNING')
  })

  it("refuses an operator's DELETE /cluster, and the JobManager stays up", async () => {
    const response = await through(toFlink, 'DELETE', '/cluster', { authorization: basic('otto') })
    expect(response.status).toBe(403)
    expect(await jobState(flink, job.jobId)).toBe('RUNNING')
  })

  it('never forwards a target flink-guard refuses to judge (NGINX answers 500 for the 400)', async () => {
    const response = await through(toFlink, 'DELETE', '/jobs/%2e%2e/cluster', {
      authorization: basic('otto'),
    })
    // auth_request passes only 401 and 403 on; any other answer of the check is NGINX's 500. Refused either way.
    expect(response.status).toBe(500)
    expect(response.headers['x-flink-guard-error']).toBe('FG_ERR_PATH_DOT_SEGMENT')
    expect(await jobState(flink, job.jobId)).toBe('RUNNING')
  })

  it("streams a deployer's jar upload through NGINX to Flink, and refuses a viewer's", async () => {
    const form = () => {
      const data = new FormData()
      data.append('jarfile', new Blob([readFileSync(flink.build.jobJar)]), 'forward-auth.jar')
      return data
    }
    const refused = await through(toFlink, 'POST', '/jars/upload', { authorization: basic('vera') }, form())
    expect(refused.status).toBe(403)
    const uploaded = await through(toFlink, 'POST', '/jars/upload', { authorization: basic('dora') }, form())
    expect(uploaded.status).toBe(200)
    expect(JSON.parse(uploaded.text)).toMatchObject({ status: 'success' })
    const jars = (await (await request(`${flink.restUrl}/jars`)).body.json()) as { files: { name: string }[] }
    expect(jars.files.filter((file) => file.name === 'forward-auth.jar')).toHaveLength(1)
  })

  it("allows an operator's cancel, and Flink cancels the job", async () => {
    const response = await through(toFlink, 'PATCH', `/jobs/${job.jobId}?mode=cancel`, {
      authorization: basic('otto'),
    })
    expect(response.status).toBe(202)
    await waitForJobState(flink, job.jobId, 'CANCELED')
  })
})

describe('NGINX auth_request to flink-guard in front of the stand-in', () => {
  it('gives the stand-in the identity headers and never the client credentials', async () => {
    standin.record.reset()
    const response = await through(toStandin, 'GET', '/overview', { authorization: basic('otto') })
    expect(response.status).toBe(200)
    expect(standin.record.count).toBe(1)
    const seen = standin.record.last!.headers
    expect(seen['x-forwarded-user']).toBe('otto')
    expect(seen['x-forwarded-groups']).toBe('operators')
    expect(seen.authorization).toBeUndefined()
  })

  it("refuses a viewer's cancel before the stand-in sees it", async () => {
    const standinJob = standin.state.addJob('orders-v4', 'RUNNING')
    standin.record.reset()
    const response = await through(toStandin, 'PATCH', `/jobs/${standinJob.id}?mode=cancel`, {
      authorization: basic('vera'),
    })
    expect(response.status).toBe(403)
    expect(standin.record.count).toBe(0)
    const allowed = await through(toStandin, 'PATCH', `/jobs/${standinJob.id}?mode=cancel`, {
      authorization: basic('otto'),
    })
    expect(allowed.status).toBe(202)
    expect(standin.record.count).toBe(1)
  })
})
