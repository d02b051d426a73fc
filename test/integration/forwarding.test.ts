import { createHash } from 'node:crypto'
import { createServer, type Server } from 'node:net'
import { Readable } from 'node:stream'
import { request } from 'undici'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { type Standin, startStandin } from '../../src/standin/server.js'
import { eventually } from './support/eventually.js'
import { startProxy, type TestProxy } from './support/proxy.js'
import { RawConnection } from './support/raw-http.js'

const RUNNING_JOB = /[0-9a-f]{32}/

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
beforeEach(() => standin.record.reset())

async function jobId(): Promise<string> {
  const { body } = await request(`${standin.url}/jobs`)
  const { jobs } = (await body.json()) as { jobs: { id: string; status: string }[] }
  const running = jobs.find((job) => job.status === 'RUNNING') ?? jobs[0]
  expect(running?.id).toMatch(RUNNING_JOB)
  return running!.id
}

describe('forwarding to the Flink REST endpoint', () => {
  it("answers GET /overview exactly as Flink's endpoint does", async () => {
    const direct = await request(`${standin.url}/overview`)
    const viaProxy = await request(`${proxy.proxyUrl}/overview`)
    expect(viaProxy.statusCode).toBe(200)
    expect(viaProxy.headers['content-type']).toBe(direct.headers['content-type'])
    expect(await viaProxy.body.json()).toEqual(await direct.body.json())
  })

  it.each(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const)(
    'forwards %s with the request target byte-exact',
    async (method) => {
      const target = '/v1/jobs/overview/%41b%7e-c?filter=a%2Fb&x=%7E&y=a+b&empty='
      const withBody = method !== 'GET' && method !== 'HEAD' && method !== 'OPTIONS'
      const response = await request(`${proxy.proxyUrl}${target}`, {
        method,
        ...(withBody ? { body: 'payload', headers: { 'content-type': 'text/plain' } } : {}),
      })
      await response.body.dump()
      expect(standin.record.count).toBe(1)
      expect(standin.record.last?.method).toBe(method)
      expect(standin.record.last?.url).toBe(target)
      if (withBody) {
        expect(standin.record.last?.bodyBytes).toBe(7)
        expect(standin.record.last?.bodySha256).toBe(createHash('sha256').update('payload').digest('hex'))
      }
    },
  )

  it("passes Flink's own error responses through untouched", async () => {
    const direct = await request(`${standin.url}/jobs/00000000000000000000000000000000`)
    const viaProxy = await request(`${proxy.proxyUrl}/jobs/00000000000000000000000000000000`)
    expect(viaProxy.statusCode).toBe(direct.statusCode)
    expect(viaProxy.statusCode).toBe(404)
    expect(await viaProxy.body.text()).toBe(await direct.body.text())
  })

  it('cancels a job through the proxy (PATCH answers 202 and the job is cancelled)', async () => {
    const id = await jobId()
    const response = await request(`${proxy.proxyUrl}/jobs/${id}`, { method: 'PATCH' })
    expect(response.statusCode).toBe(202)
    await response.body.dump()
    const status = await request(`${standin.url}/jobs/${id}`)
    expect(((await status.body.json()) as { state: string }).state).toMatch(/CANCEL/)
  })

  it('drops hop-by-hop and Connection-listed headers, and sets X-Forwarded-* itself', async () => {
    const connection = await RawConnection.open(proxy.proxyUrl)
    connection.write(
      'GET /overview HTTP/1.1\r\nHost: flink.example:443\r\nConnection: keep-alive, X-Secret-Hop\r\n' +
        'X-Secret-Hop: 1\r\nKeep-Alive: timeout=5\r\nTE: trailers\r\nTrailer: x\r\nUpgrade: h2c\r\n' +
        'Proxy-Authorization: Basic Zm9vOmJhcg==\r\nX-Forwarded-For: 6.6.6.6\r\nX-Forwarded-Proto: https\r\n' +
        'X-Forwarded-Host: evil.example\r\nForwarded: for=6.6.6.6\r\nX-Real-IP: 6.6.6.6\r\nX-Custom: kept\r\n\r\n',
    )
    const response = await connection.readResponse()
    connection.close()
    expect(response.status).toBe(200)
    const seen = standin.record.last!.headers
    for (const dropped of [
      'x-secret-hop',
      'keep-alive',
      'te',
      'trailer',
      'upgrade',
      'proxy-authorization',
      'forwarded',
      'x-real-ip',
    ]) {
      expect(seen[dropped], dropped).toBeUndefined()
    }
    expect(seen['x-custom']).toBe('kept')
    expect(seen['x-forwarded-for']).toBe('127.0.0.1')
    expect(seen['x-forwarded-proto']).toBe('http')
    expect(seen['x-forwarded-host']).toBe('flink.example:443')
  })

  it("honours a client's Connection: close instead of Flink's keep-alive", async () => {
    const connection = await RawConnection.open(proxy.proxyUrl)
    connection.write('GET /overview HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
    const response = await connection.readResponse()
    expect(response.status).toBe(200)
    expect(response.headers.connection).toBe('close')
    expect(response.headers['keep-alive']).toBeUndefined()
    expect(await connection.closedByPeer()).toBe(true)
  })

  it('keeps a keep-alive connection usable for the next request', async () => {
    const connection = await RawConnection.open(proxy.proxyUrl)
    for (let i = 0; i < 3; i++) {
      connection.write('GET /overview HTTP/1.1\r\nHost: x\r\n\r\n')
      expect((await connection.readResponse()).status).toBe(200)
    }
    connection.close()
    expect(standin.record.count).toBe(3)
  })

  it('answers Expect: 100-continue itself and does not forward the Expect header', async () => {
    const connection = await RawConnection.open(proxy.proxyUrl)
    connection.write(
      'POST /jobs/overview HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n',
    )
    await connection.readUntil(/^HTTP\/1\.1 100 Continue\r\n\r\n/)
    connection.write('hello')
    const response = await connection.readResponse()
    connection.close()
    expect(response.status).not.toBe(500)
    expect(standin.record.last?.headers.expect).toBeUndefined()
    expect(standin.record.last?.bodySha256).toBe(createHash('sha256').update('hello').digest('hex'))
  })

  it('answers an Expect other than 100-continue with 417', async () => {
    const connection = await RawConnection.open(proxy.proxyUrl)
    connection.write('POST /jobs HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nExpect: teapot\r\n\r\n')
    const response = await connection.readResponse()
    connection.close()
    expect(response.status).toBe(417)
    expect(response.headers['x-flink-guard-error']).toBe('FG_ERR_REQUEST_EXPECTATION_FAILED')
    expect(standin.record.count).toBe(0)
  })

  it("streams a chunked request body, as Flink's own client sends it", async () => {
    const chunks = Array.from({ length: 64 }, (_, i) => Buffer.alloc(16 * 1024, i))
    const response = await request(`${proxy.proxyUrl}/jobs/overview`, {
      method: 'PUT',
      body: Readable.from(chunks),
      headers: { 'content-type': 'application/octet-stream' },
    })
    await response.body.dump()
    expect(standin.record.last?.headers['transfer-encoding']).toBe('chunked')
    expect(standin.record.last?.bodyBytes).toBe(64 * 16 * 1024)
    expect(standin.record.last?.bodySha256).toBe(
      createHash('sha256').update(Buffer.concat(chunks)).digest('hex'),
    )
  })

  it('propagates an acceptable X-Request-Id and replaces a hostile one', async () => {
    const kept = await request(`${proxy.proxyUrl}/overview`, { headers: { 'x-request-id': 'abc-123' } })
    await kept.body.dump()
    expect(kept.headers['x-request-id']).toBe('abc-123')
    expect(standin.record.last?.headers['x-request-id']).toBe('abc-123')

    const hostile = await request(`${proxy.proxyUrl}/overview`, {
      headers: { 'x-request-id': 'a b\u00e9"}{' },
    })
    await hostile.body.dump()
    expect(hostile.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/)
    expect(standin.record.last?.headers['x-request-id']).toBe(hostile.headers['x-request-id'])
  })

  it('writes one access line per request and never logs credentials', async () => {
    const secret = 'Bearer s3cr3t-token-value'
    const before = proxy.logs.length
    const response = await request(`${proxy.proxyUrl}/jobs/overview?x=1`, {
      headers: { authorization: secret, cookie: 'session=c00kie', 'proxy-authorization': 'Basic cHJveHk=' },
    })
    await response.body.dump()
    await eventually(() => proxy.logs.length > before)
    const lines = proxy.logs.slice(before).filter((line) => line.msg === 'request completed')
    expect(lines).toHaveLength(1)
    // A bearer token this anonymous-only proxy cannot read is refused (FG_ERR_AUTH_UNSUPPORTED_SCHEME).
    expect(lines[0]).toMatchObject({ method: 'GET', url: '/jobs/overview?x=1', status: 401, bytesIn: 0 })
    expect(lines[0]!.reqId).toBe(response.headers['x-request-id'])
    expect(lines[0]!.bytesOut).toBeGreaterThan(0)
    expect(typeof lines[0]!.durationMs).toBe('number')
    const everything = proxy.rawLogs.join('\n')
    for (const leaked of ['s3cr3t-token-value', 'c00kie', 'cHJveHk='])
      expect(everything).not.toContain(leaked)
  })

  it('aborts the upstream request when the client disconnects', async () => {
    standin.responseDelayMs = 1_000
    try {
      const abort = new AbortController()
      const pending = request(`${proxy.proxyUrl}/overview`, { signal: abort.signal })
      await eventually(() => standin.record.count === 1)
      abort.abort()
      await expect(pending).rejects.toThrow()
      await eventually(() => standin.record.last?.aborted === true, 3_000)
    } finally {
      standin.responseDelayMs = 0
    }
  })

  it.each([
    [
      'an unparsable request line',
      'GET /overview HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n',
      400,
      'FG_ERR_REQUEST_MALFORMED',
    ],
    [
      'headers over 32 KiB',
      `GET /overview HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(40_000)}\r\n\r\n`,
      431,
      'FG_ERR_REQUEST_HEADERS_TOO_LARGE',
    ],
    [
      'an absolute-form target',
      'GET http://evil.example/overview HTTP/1.1\r\nHost: x\r\n\r\n',
      400,
      'FG_ERR_PATH_NOT_ORIGIN_FORM',
    ],
  ])("refuses %s in Flink's error shape, and nothing reaches Flink", async (_name, wire, status, code) => {
    const connection = await RawConnection.open(proxy.proxyUrl)
    connection.write(wire)
    const response = await connection.readResponse()
    connection.close()
    expect(response.status).toBe(status)
    expect(JSON.parse(response.body)).toEqual({ errors: [expect.any(String)] })
    expect(response.headers['x-flink-guard-error']).toBe(code)
    expect(standin.record.count).toBe(0)
  })
})

describe('request body limit', () => {
  let limited: TestProxy
  beforeAll(async () => {
    limited = await startProxy(standin.url, { limits: { maxBodyBytes: 1024 } })
  })
  afterAll(() => limited.close(1_000))

  it('refuses a declared Content-Length over the limit before reading the body', async () => {
    const connection = await RawConnection.open(limited.proxyUrl)
    connection.write(
      'POST /jars/upload HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\nExpect: 100-continue\r\n\r\n',
    )
    const response = await connection.readResponse()
    expect(response.head).not.toContain('100 Continue')
    expect(response.status).toBe(413)
    expect(response.headers.connection).toBe('close')
    expect(response.headers['x-flink-guard-error']).toBe('FG_ERR_REQUEST_BODY_TOO_LARGE')
    expect(await connection.closedByPeer()).toBe(true)
    expect(standin.record.count).toBe(0)
  })

  it('refuses a chunked body once it passes the limit', async () => {
    const response = await request(`${limited.proxyUrl}/jobs/overview`, {
      method: 'POST',
      body: Readable.from([Buffer.alloc(600), Buffer.alloc(600), Buffer.alloc(600)]),
    }).catch((err: unknown) => err as Error)
    if (response instanceof Error) {
      // The proxy may close the connection while the client is still writing; then the log says what happened.
      await eventually(() => limited.logs.some((line) => line.status === 413))
    } else {
      expect(response.statusCode).toBe(413)
      expect(response.headers['x-flink-guard-error']).toBe('FG_ERR_REQUEST_BODY_TOO_LARGE')
      await response.body.dump()
    }
    await eventually(() =>
      limited.logs.some((line) => line.msg === 'request completed' && line.status === 413),
    )
    expect(standin.record.uploads).toHaveLength(0)
    if (standin.record.last) expect(standin.record.last.bodyBytes).toBeLessThanOrEqual(1024)
  })

  it('lets a body exactly at the limit through', async () => {
    const response = await request(`${limited.proxyUrl}/jobs/overview`, {
      method: 'POST',
      body: Buffer.alloc(1024),
    })
    await response.body.dump()
    expect(standin.record.last?.bodyBytes).toBe(1024)
  })
})

describe('when Flink fails', () => {
  it("answers 503 with Retry-After in Flink's error shape when Flink refuses connections (Flink's client retries it)", async () => {
    const closed = await startStandin()
    const url = closed.url
    await closed.close()
    const failing = await startProxy(url)
    try {
      const response = await request(`${failing.proxyUrl}/overview`)
      expect(response.statusCode).toBe(503)
      expect(response.headers['retry-after']).toBe('1')
      expect(response.headers['content-type']).toMatch(/^application\/json/)
      expect(response.headers['x-flink-guard-error']).toBe('FG_ERR_UPSTREAM_UNAVAILABLE')
      expect(await response.body.json()).toEqual({
        errors: ['The Flink REST endpoint is not accepting connections; retry shortly'],
      })
    } finally {
      await failing.close(1_000)
    }
  })

  it('answers 502 when Flink resets the connection', async () => {
    const resetting: Server = createServer((socket) => socket.resetAndDestroy())
    await new Promise<void>((resolve) => resetting.listen(0, '127.0.0.1', resolve))
    const { port } = resetting.address() as { port: number }
    const failing = await startProxy(`http://127.0.0.1:${port}`)
    try {
      const response = await request(`${failing.proxyUrl}/overview`)
      expect(response.statusCode).toBe(502)
      expect(response.headers['retry-after']).toBeUndefined()
      expect(response.headers['x-flink-guard-error']).toBe('FG_ERR_UPSTREAM_UNREACHABLE')
      await response.body.dump()
    } finally {
      await failing.close(1_000)
      resetting.close()
    }
  })

  it('answers 504 when Flink does not answer within responseMs', async () => {
    const slow = await startProxy(standin.url, { upstream: { timeouts: { responseMs: 200 } } })
    standin.responseDelayMs = 1_500
    try {
      const response = await request(`${slow.proxyUrl}/overview`)
      expect(response.statusCode).toBe(504)
      expect(response.headers['x-flink-guard-error']).toBe('FG_ERR_UPSTREAM_TIMEOUT')
      expect(await response.body.json()).toEqual({
        errors: ['The Flink REST endpoint did not answer in time'],
      })
    } finally {
      standin.responseDelayMs = 0
      await slow.close(1_000)
    }
  })
})

describe('headers only the proxy may send', () => {
  it("drops an X-Flink-Guard-Error that Flink (or what runs on it) sends, so no answer can pose as the proxy's refusal", async () => {
    const posing: Server = createServer((socket) =>
      socket.once('data', () =>
        socket.end(
          'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Flink-Guard-Error: FG_ERR_AUTH_REQUIRED\r\n' +
            'Content-Length: 2\r\nConnection: close\r\n\r\n{}',
        ),
      ),
    )
    await new Promise<void>((resolve) => posing.listen(0, '127.0.0.1', resolve))
    const { port } = posing.address() as { port: number }
    const proxied = await startProxy(`http://127.0.0.1:${port}`)
    try {
      const response = await request(`${proxied.proxyUrl}/overview`)
      expect(response.statusCode).toBe(200)
      expect(await response.body.text()).toBe('{}')
      expect(response.headers['x-flink-guard-error']).toBeUndefined()
    } finally {
      await proxied.close(1_000)
      posing.close()
    }
  })
})
