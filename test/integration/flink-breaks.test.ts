import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { request } from 'undici'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { eventually } from './support/eventually.js'
import { startProxy, type TestProxy } from './support/proxy.js'

/**
 * A Flink that breaks mid-answer, or answers with something that is not HTTP. The peer is a real process
 * (support/broken-flink.mjs, a child) killed with SIGKILL while its answer streams: the proxy cannot tell it
 * from a JobManager that died, and nothing on the request path is mocked.
 */

const BROKEN_FLINK = join(import.meta.dirname, 'support/broken-flink.mjs')
let flink: ChildProcess
let lines: AsyncIterator<string>
let proxy: TestProxy

beforeEach(async () => {
  flink = spawn(process.execPath, [BROKEN_FLINK, '0'], { stdio: ['ignore', 'pipe', 'inherit'] })
  lines = createInterface({ input: flink.stdout! })[Symbol.asyncIterator]()
  const port = Number((await lines.next()).value)
  proxy = await startProxy(`http://127.0.0.1:${port}`, { upstream: { timeouts: { responseMs: 1_000 } } })
})
afterEach(async () => {
  flink.kill('SIGKILL')
  await proxy.close(1_000)
})

const accessLineOf = (requestId: string) =>
  proxy.logs.find((line) => line.msg === 'request completed' && line.reqId === requestId)

describe('Flink killed while its answer streams', () => {
  it.each([
    ['a Content-Length answer cut short', '/jobmanager/log'],
    ['a chunked answer without its last chunk', '/jobmanager/stdout'],
  ])(
    '%s reaches the client broken, never as a clean 200, and the access line says so',
    async (_name, path) => {
      const response = await request(`${proxy.proxyUrl}${path}`)
      expect(response.statusCode).toBe(200)
      expect((await lines.next()).value).toBe(`streaming ${path}`)
      const requestId = String(response.headers['x-request-id'])
      let received = 0
      // Settled at once into a value, so the body's error is never an unhandled rejection while the test waits.
      const reading = (async () => {
        for await (const chunk of response.body) received += (chunk as Buffer).length
      })().then(
        () => 'whole',
        (err: Error) => err,
      )
      await eventually(() => received > 0, 5_000)
      flink.kill('SIGKILL')
      await once(flink, 'exit')
      expect(await reading).toBeInstanceOf(Error)
      expect(received).toBeLessThan(64 * 1024 * 1024)
      await eventually(() => accessLineOf(requestId) !== undefined, 2_000)
      expect(accessLineOf(requestId)).toMatchObject({ status: 200, outcome: 'upstream_cut' })
    },
  )

  it('a whole answer is logged as complete', async () => {
    const response = await request(`${proxy.proxyUrl}/overview`)
    expect(await response.body.json()).toEqual({})
    const requestId = String(response.headers['x-request-id'])
    await eventually(() => accessLineOf(requestId) !== undefined, 2_000)
    expect(accessLineOf(requestId)).toMatchObject({ status: 200, outcome: 'complete' })
  })
})

describe('Flink answering with something that is not an HTTP response', () => {
  it.each([
    ['bytes that are not HTTP', '/garbage', 'FG_ERR_UPSTREAM_BAD_RESPONSE'],
    ['the connection closed before any answer', '/closed', 'FG_ERR_UPSTREAM_UNREACHABLE'],
  ])('%s: 502 with its code in Flink error shape', async (_name, path, code) => {
    const response = await request(`${proxy.proxyUrl}${path}`)
    expect(response.statusCode).toBe(502)
    expect(response.headers['x-flink-guard-error']).toBe(code)
    const body = (await response.body.json()) as { errors: string[] }
    expect(Object.keys(body)).toEqual(['errors'])
    // The proxy stays healthy: the next request is served.
    const next = await request(`${proxy.proxyUrl}/overview`)
    expect(await next.body.json()).toEqual({})
  })
})
