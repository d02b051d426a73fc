import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Standin, startStandin } from '../../src/standin/server.js'
import { eventually } from './support/eventually.js'
import { basicAuth, htpasswdFor } from './support/gateway.js'
import { startProxy, type TestProxy } from './support/proxy.js'

/**
 * The audit trail through the real proxy in front of the stand-in: a line when an action is answered, and for
 * one Flink finishes later a second saying how it ended, both with the job's name; every line also POSTed to
 * a real HTTP receiver. The same against real Flink's savepoints and cancels: test/flink/audit-trail.test.ts.
 */

let standin: Standin
let proxy: TestProxy
let receiver: Server
const received: { reqId: string; phase: string; action: string; [field: string]: unknown }[] = []
const OPERATOR = basicAuth('otto')
const VIEWER = basicAuth('vera')

beforeAll(async () => {
  standin = await startStandin()
  receiver = createServer((req, res) => {
    let body = ''
    req.on('data', (chunk) => {
      body += chunk
    })
    req.on('end', () => {
      if (req.headers.authorization === 'Bearer hook-secret') received.push(JSON.parse(body))
      res.writeHead(req.headers.authorization === 'Bearer hook-secret' ? 204 : 401).end()
    })
  })
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve))
  proxy = await startProxy(standin.url, {
    auth: {
      basic: { htpasswd: htpasswdFor(['otto', 'vera']), users: { otto: ['ops'], vera: ['watchers'] } },
    },
    authz: { roles: { ops: 'operator', watchers: 'viewer' } },
    audit: {
      followUp: { intervalMs: 100 },
      webhook: {
        url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/audit?token=not-logged`,
        headers: { authorization: 'Bearer hook-secret' },
      },
    },
  })
})
afterAll(async () => {
  await proxy.close(1_000)
  await standin.close()
  receiver.close()
})

async function act(method: 'POST' | 'PATCH', path: string, authorization: string, body?: string) {
  const response = await request(`${proxy.proxyUrl}${path}`, {
    method,
    headers: { authorization, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body,
  })
  await response.body.dump()
  return { status: response.statusCode, requestId: response.headers['x-request-id'] as string }
}
/** The audit lines the proxy logged for one request, by phase. */
const linesOf = (requestId: string) =>
  proxy.rawLogs
    .map((line) => JSON.parse(line))
    .filter((line) => line.msg === 'audit' && line.reqId === requestId)
    .map((line) => line.audit as Record<string, unknown>)

describe('an accepted savepoint', () => {
  it('has a line when answered and one when Flink completed it, with the job’s name and the savepoint', async () => {
    const job = standin.state.addJob('orders-v3', 'RUNNING')
    const { status, requestId } = await act('POST', `/jobs/${job.id}/stop`, OPERATOR, '{"drain":false}')
    expect(status).toBe(202)
    await eventually(() => linesOf(requestId).length === 2)
    const [requested, completed] = linesOf(requestId)
    expect(requested).toMatchObject({
      phase: 'requested',
      followUp: 'following',
      subject: 'otto',
      action: 'POST /jobs/:jobid/stop',
      jobId: job.id,
      // Without job scope the first line does not ask Flink for the name; the second does.
      jobName: null,
      allowed: true,
      status: 202,
    })
    expect(completed).toMatchObject({
      phase: 'completed',
      subject: 'otto',
      action: 'POST /jobs/:jobid/stop',
      jobId: job.id,
      jobName: 'orders-v3',
      triggerId: requested!.triggerId,
      result: 'COMPLETED',
      savepointPath: expect.stringMatching(/^file:\/tmp\/flink-standin\/savepoints\/savepoint-/),
      requestedAt: requested!.time,
    })
    expect(completed!.durationMs).toBeGreaterThanOrEqual(0)
    expect(job.state).toBe('FINISHED')
  })

  it('of a job Flink does not know completes as FAILED, with the first line of Flink’s failure', async () => {
    const unknown = 'abcdefabcdefabcdefabcdefabcdefab'
    const { requestId } = await act('POST', `/jobs/${unknown}/savepoints`, OPERATOR, '{"cancel-job":false}')
    await eventually(() => linesOf(requestId).length === 2)
    expect(linesOf(requestId)[1]).toMatchObject({
      phase: 'completed',
      result: 'FAILED',
      jobName: null,
      failure: `org.apache.flink.runtime.messages.FlinkJobNotFoundException: Could not find Flink job (${unknown})`,
    })
  })
})

describe('a cancel', () => {
  it("completes with the job's final state", async () => {
    const job = standin.state.addJob('payments-v1', 'RUNNING')
    const { status, requestId } = await act('PATCH', `/jobs/${job.id}?mode=cancel`, OPERATOR)
    expect(status).toBe(202)
    await eventually(() => linesOf(requestId).length === 2)
    expect(linesOf(requestId)[1]).toMatchObject({
      result: 'CANCELED',
      jobState: 'CANCELED',
      jobName: 'payments-v1',
    })
  })

  it('refused has its one line, and is not followed', async () => {
    const job = standin.state.addJob('billing-v2', 'RUNNING')
    const { status, requestId } = await act('PATCH', `/jobs/${job.id}?mode=cancel`, VIEWER)
    expect(status).toBe(403)
    await eventually(() => linesOf(requestId).length === 1)
    expect(linesOf(requestId)[0]).toMatchObject({
      phase: 'requested',
      followUp: 'none',
      allowed: false,
      denial: 'FG_ERR_AUTHZ_PRESET_INSUFFICIENT',
    })
    // Four follow-up intervals later there is still one line.
    await new Promise((resolve) => setTimeout(resolve, 400))
    expect(linesOf(requestId)).toHaveLength(1)
    expect(job.state).toBe('RUNNING')
  })
})

describe('the webhook', () => {
  it('receives every line, both phases, with the request id; its URL’s query is never logged', async () => {
    const job = standin.state.addJob('reports-v9', 'RUNNING')
    const { requestId } = await act('POST', `/jobs/${job.id}/savepoints`, OPERATOR, '{"cancel-job":false}')
    await eventually(() => received.filter((line) => line.reqId === requestId).length === 2)
    expect(received.filter((line) => line.reqId === requestId).map((line) => line.phase)).toEqual([
      'requested',
      'completed',
    ])
    expect(proxy.rawLogs.join('\n')).not.toContain('not-logged')
  })

  it('that is down costs the request nothing: the answer and the log line are there, a warning says what was lost', async () => {
    const down = await startProxy(standin.url, {
      auth: { basic: { htpasswd: htpasswdFor(['otto']), users: { otto: ['ops'] } } },
      authz: { roles: { ops: 'operator' } },
      audit: { webhook: { url: 'http://127.0.0.1:9/audit', timeoutMs: 500 } },
    })
    try {
      const job = standin.state.addJob('lonely-v1', 'RUNNING')
      const response = await request(`${down.proxyUrl}/jobs/${job.id}?mode=cancel`, {
        method: 'PATCH',
        headers: { authorization: OPERATOR },
      })
      await response.body.dump()
      expect(response.statusCode).toBe(202)
      const logged = () => down.rawLogs.map((line) => JSON.parse(line))
      await eventually(() => logged().some((line) => line.msg === 'audit webhook: a line was not delivered'))
      expect(logged().some((line) => line.msg === 'audit' && line.audit.jobId === job.id)).toBe(true)
    } finally {
      await down.close(1_000)
    }
  })
})
