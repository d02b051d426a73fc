import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Standin, startStandin } from '../../src/standin/server.js'
import { eventually } from './support/eventually.js'
import { startProxy, type TestProxy } from './support/proxy.js'

/**
 * Issue 20 item 2: a request whose body the proxy streams to Flink lost its client address and its bytesOut
 * in the access and audit lines (undici sets the streamed body's `socket` to null when done with it).
 */
describe('the access and audit lines of actions that send a body to Flink', () => {
  let standin: Standin
  let proxy: TestProxy

  beforeAll(async () => {
    standin = await startStandin()
    proxy = await startProxy(standin.url)
  })
  afterAll(async () => {
    await proxy.close(1_000)
    await standin.close()
  })

  const linesOf = (requestId: string | null) => {
    const lines = proxy.logs.filter((line) => line.reqId === requestId)
    return {
      access: lines.find((line) => line.msg === 'request completed'),
      audit: lines.find((line) => line.msg === 'audit')?.audit as Record<string, unknown> | undefined,
    }
  }

  it.each([
    [
      'POST /jars/upload',
      200,
      () => {
        const form = new FormData()
        // A jar starts as a ZIP file does (limits.uploads.jarFilesOnly).
        form.append('jarfile', new Blob(['PK\u0003\u0004', Buffer.alloc(4096, 1)]), 'job.jar')
        return fetch(`${proxy.proxyUrl}/jars/upload`, { method: 'POST', body: form })
      },
    ],
    [
      'POST /jobs/:jobid/savepoints',
      202,
      async () => {
        const overview = (await (await fetch(`${proxy.proxyUrl}/jobs/overview`)).json()) as {
          jobs: { jid: string; state: string }[]
        }
        const running = overview.jobs.find((job) => job.state === 'RUNNING')!
        return fetch(`${proxy.proxyUrl}/jobs/${running.jid}/savepoints`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ 'cancel-job': false }),
        })
      },
    ],
  ] as const)('%s carries the client address and the bytes sent back', async (action, status, send) => {
    const response = await send()
    expect(response.status).toBe(status)
    const body = await response.text()
    const requestId = response.headers.get('x-request-id')
    await eventually(() => linesOf(requestId).audit !== undefined)
    const { access, audit } = linesOf(requestId)
    expect(access).toMatchObject({ status, remoteAddress: '127.0.0.1' })
    // The status line, the headers and the body: more than the body alone.
    expect(access!.bytesOut).toBeGreaterThan(Buffer.byteLength(body))
    expect(audit).toMatchObject({ action, status, allowed: true, remoteAddress: '127.0.0.1' })
  })
})
