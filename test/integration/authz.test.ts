import { request } from 'undici'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import type { Preset } from '../../src/authz/presets.js'
import { ERRORS } from '../../src/errors.js'
import { type Standin, startStandin } from '../../src/standin/server.js'
import { HOSTILE } from '../fixtures/hostile-paths.js'
import { startProxy, type TestProxy } from './support/proxy.js'
import { RawConnection } from './support/raw-http.js'

/**
 * Authorization over real sockets: one proxy per preset (the identity comes from `auth.anonymous` with a role
 * mapped to that preset, so these tests depend on no credential scheme), the stand-in behind them, and its
 * record as proof of what reached Flink.
 */

let standin: Standin
const proxies = {} as Record<Preset, TestProxy>

beforeAll(async () => {
  standin = await startStandin()
  for (const preset of ['viewer', 'operator', 'deployer', 'admin'] as const) {
    proxies[preset] = await startProxy(standin.url, {
      auth: { anonymous: { roles: [`team-${preset}`] } },
      authz: { roles: { [`team-${preset}`]: preset } },
    })
  }
})
afterAll(async () => {
  await Promise.all(Object.values(proxies).map((proxy) => proxy.close(1_000)))
  await standin.close()
})
beforeEach(() => standin.record.reset())

const runningJob = () => standin.state.addJob(`job-${Math.random()}`, 'RUNNING')

function multipartJar(name: string, content: string): { body: Buffer; contentType: string } {
  const boundary = '----flinkguardtest'
  const body = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="jarfile"; filename="${name}"\r\n` +
      `Content-Type: application/java-archive\r\n\r\n${content}\r\n--${boundary}--\r\n`,
  )
  return { body, contentType: `multipart/form-data; boundary=${boundary}` }
}

async function call(
  preset: Preset,
  method: string,
  path: string,
  init: { body?: Buffer | string; headers?: Record<string, string> } = {},
) {
  const response = await request(`${proxies[preset].proxyUrl}${path}`, {
    method: method as 'GET',
    ...(init.body !== undefined ? { body: init.body } : {}),
    headers: init.headers ?? {},
  })
  const text = await response.body.text()
  return { status: response.statusCode, headers: response.headers, text, json: () => JSON.parse(text) }
}

describe('a viewer', () => {
  it.each(['/config', '/overview', '/jobs/overview', '/taskmanagers', '/', '/index.html'])(
    'loads the dashboard call %s',
    async (path) => {
      expect((await call('viewer', 'GET', path)).status).toBe(200)
      expect(standin.record.count).toBe(1)
    },
  )

  it('is refused every action with 403 in Flink error shape, and nothing reaches Flink', async () => {
    const job = runningJob()
    const jar = multipartJar('job.jar', 'PK\u0003\u0004')
    const attempts = [
      ['PATCH', `/jobs/${job.id}`, undefined],
      ['GET', `/jobs/${job.id}/yarn-cancel`, undefined],
      ['POST', '/jars/upload', jar],
      ['DELETE', '/cluster', undefined],
    ] as const
    for (const [method, path, upload] of attempts) {
      const response = await call('viewer', method, path, {
        ...(upload ? { body: upload.body, headers: { 'content-type': upload.contentType } } : {}),
      })
      expect(response.status, `${method} ${path}`).toBe(403)
      expect(response.headers['x-flink-guard-error']).toBe('FG_ERR_AUTHZ_PRESET_INSUFFICIENT')
      expect(response.json()).toEqual({ errors: [expect.stringContaining('needs preset')] })
    }
    expect(standin.record.count).toBe(0)
    expect(job.state).toBe('RUNNING')
    expect(standin.state.shutDown).toBe(false)
  })
})

describe('the refusal messages', () => {
  it('say each thing once: the registry message, then the route or the reason', async () => {
    const unknown = await call('viewer', 'POST', '/not-a-flink-route')
    expect(unknown.status).toBe(403)
    expect(unknown.json()).toEqual({
      errors: ['This route is not known to flink-guard and no rule allows it: POST /not-a-flink-route'],
    })
    const viewer = await call('viewer', 'DELETE', '/cluster')
    expect(viewer.json()).toEqual({
      errors: [
        'Your preset does not allow this Flink action: DELETE /cluster (CLUSTER) needs preset admin; yours is viewer',
      ],
    })
  })
})

describe('an operator', () => {
  it('cancels a job and triggers a savepoint, but may not upload', async () => {
    const job = runningJob()
    expect((await call('operator', 'PATCH', `/jobs/${job.id}`)).status).toBe(202)
    expect(job.state).toBe('CANCELED')
    const other = runningJob()
    const savepoint = await call('operator', 'POST', `/jobs/${other.id}/savepoints`, {
      body: JSON.stringify({ 'cancel-job': false }),
      headers: { 'content-type': 'application/json' },
    })
    expect(savepoint.status).toBe(202)
    expect(savepoint.json()).toHaveProperty('request-id')
    const jar = multipartJar('job.jar', 'PK\u0003\u0004')
    const upload = await call('operator', 'POST', '/jars/upload', {
      body: jar.body,
      headers: { 'content-type': jar.contentType },
    })
    expect(upload.status).toBe(403)
    expect(standin.record.count).toBe(2)
  })
})

describe('a deployer', () => {
  it('uploads and runs a jar, sees only the file name of the stored jar, and may not shut down', async () => {
    const jar = multipartJar('wordcount.jar', 'PK\u0003\u0004 jar bytes')
    const upload = await call('deployer', 'POST', '/jars/upload', {
      body: jar.body,
      headers: { 'content-type': jar.contentType },
    })
    expect(upload.status).toBe(200)
    const { filename, status } = upload.json() as { filename: string; status: string }
    expect(status).toBe('success')
    // Flink answers with the absolute server path; below admin only its last segment is shown.
    expect(filename).not.toContain('/')
    expect(filename).toMatch(/_wordcount\.jar$/)
    expect(standin.record.uploads[0]!.serverPath.endsWith(`/${filename}`)).toBe(true)

    const run = await call('deployer', 'POST', `/jars/${filename}/run`)
    expect(run.status).toBe(200)
    expect(run.json()).toHaveProperty('jobid')

    expect((await call('deployer', 'DELETE', '/cluster')).status).toBe(403)
    expect(standin.state.shutDown).toBe(false)
  })

  it("gets Flink's error without the server path in it", async () => {
    // Flink answers a run of a missing jar with a 500 whose second message is the server-side trace.
    const response = await call('deployer', 'POST', '/jars/0123abcd_missing.jar/run')
    expect(response.status).toBe(500)
    // The redaction drops that trace entry, and with it the server path.
    expect(response.json()).toEqual({ errors: ['Internal server error.'] })
  })
})

describe('an admin', () => {
  it('sees server paths intact and may shut the cluster down', async () => {
    const jar = multipartJar('admin.jar', 'PK\u0003\u0004')
    const upload = await call('admin', 'POST', '/jars/upload', {
      body: jar.body,
      headers: { 'content-type': jar.contentType },
    })
    expect((upload.json() as { filename: string }).filename).toBe(standin.record.uploads[0]!.serverPath)
    const missing = await call('admin', 'POST', '/jars/0123abcd_missing.jar/run')
    expect(missing.json()).toEqual({
      errors: [
        'Internal server error.',
        expect.stringMatching(/Jar file \/.+\/0123abcd_missing\.jar does not exist/),
      ],
    })

    const shutdown = await call('admin', 'DELETE', '/cluster')
    expect(shutdown.status).toBe(200)
    expect(standin.state.shutDown).toBe(true)
    standin.state.shutDown = false
  })
})

describe('hostile paths, sent raw through the proxy of a viewer', () => {
  /** Node's HTTP parser refuses some before flink-guard sees them: still a 400 in Flink's shape. */
  const parserRefuses = (method: string, target: string) =>
    method !== method.toUpperCase() ||
    [...target].some((c) => c.charCodeAt(0) < 0x20 || c === '\\' || c === '#')

  it('has at least 40 entries', () => {
    expect(HOSTILE.length).toBeGreaterThanOrEqual(40)
  })

  it.each(HOSTILE)('%s %s -> %s, and nothing reaches Flink', async (method, target, code) => {
    const connection = await RawConnection.open(proxies.viewer.proxyUrl)
    connection.write(`${method} ${target} HTTP/1.1\r\nHost: flink\r\nConnection: close\r\n\r\n`)
    if (method === 'HEAD') {
      // A HEAD answer has no body to read the code from: its status has to say it.
      const head = await connection.readUntil(/\r\n\r\n/)
      connection.close()
      expect(head).toMatch(new RegExp(`^HTTP/1\\.1 ${ERRORS[code].status} `))
      expect(standin.record.count).toBe(0)
      return
    }
    const response = await connection.readResponse()
    connection.close()
    const refusal = response.headers['x-flink-guard-error']
    if (parserRefuses(method, target) && refusal === 'FG_ERR_REQUEST_MALFORMED') {
      expect(response.status).toBe(400)
    } else {
      expect(refusal).toBe(code)
      expect(response.status).toBe(ERRORS[code].status)
    }
    expect([400, 403]).toContain(response.status)
    expect(standin.record.count).toBe(0)
  })
})

describe('response hardening', () => {
  it("replaces Flink's Access-Control-Allow-Origin: * and adds the security headers", async () => {
    const response = await call('viewer', 'GET', '/overview', { headers: { origin: 'https://evil.example' } })
    expect(response.status).toBe(200)
    expect(response.headers['access-control-allow-origin']).toBeUndefined()
    expect(response.headers['x-content-type-options']).toBe('nosniff')
    expect(response.headers['x-frame-options']).toBe('DENY')
    expect(response.headers['content-security-policy']).toBe("frame-ancestors 'none'")
    expect(response.headers['referrer-policy']).toBe('no-referrer')
    // HSTS belongs to TLS listeners only.
    expect(response.headers['strict-transport-security']).toBeUndefined()
    expect(response.headers['content-type']).toBe('application/json; charset=UTF-8')
  })

  it('puts the security headers on its own error answers too', async () => {
    const response = await call('viewer', 'DELETE', '/cluster')
    expect(response.status).toBe(403)
    expect(response.headers['x-content-type-options']).toBe('nosniff')
    expect(response.headers['content-type']).toBe('application/json; charset=utf-8')
  })

  describe('with a CORS policy', () => {
    let cors: TestProxy
    beforeAll(async () => {
      cors = await startProxy(standin.url, {
        auth: { anonymous: { roles: ['v'] } },
        authz: { roles: { v: 'viewer' } },
        responses: { cors: { allowedOrigins: ['https://dash.example.com'] } },
      })
    })
    afterAll(() => cors.close(1_000))

    it('echoes an allowed origin only', async () => {
      const allowed = await request(`${cors.proxyUrl}/overview`, {
        headers: { origin: 'https://dash.example.com' },
      })
      await allowed.body.dump()
      expect(allowed.headers['access-control-allow-origin']).toBe('https://dash.example.com')
      expect(allowed.headers.vary).toContain('Origin')
      // A dashboard on another origin can read why it was refused.
      expect(allowed.headers['access-control-expose-headers']).toBe('x-request-id, x-flink-guard-error')
      const other = await request(`${cors.proxyUrl}/overview`, {
        headers: { origin: 'https://evil.example' },
      })
      await other.body.dump()
      expect(other.headers['access-control-allow-origin']).toBeUndefined()
    })

    it('answers a preflight itself, before authentication, and Flink never sees it', async () => {
      const preflight = await request(`${cors.proxyUrl}/jobs/overview`, {
        method: 'OPTIONS',
        headers: { origin: 'https://dash.example.com', 'access-control-request-method': 'PATCH' },
      })
      await preflight.body.dump()
      expect(preflight.statusCode).toBe(204)
      expect(preflight.headers['access-control-allow-methods']).toContain('PATCH')
      const refused = await request(`${cors.proxyUrl}/jobs/overview`, {
        method: 'OPTIONS',
        headers: { origin: 'https://evil.example', 'access-control-request-method': 'PATCH' },
      })
      await refused.body.dump()
      expect(refused.statusCode).toBe(204)
      expect(refused.headers['access-control-allow-origin']).toBeUndefined()
      expect(standin.record.count).toBe(0)
    })
  })
})

describe('audit log', () => {
  const auditLines = (proxy: TestProxy) =>
    proxy.logs.filter((line) => line.msg === 'audit').map((line) => line.audit as Record<string, unknown>)

  it('records who cancelled which job, and the trigger id Flink gave a savepoint', async () => {
    const before = auditLines(proxies.operator).length
    const job = runningJob()
    await call('operator', 'PATCH', `/jobs/${job.id}`)
    const other = runningJob()
    const savepoint = await call('operator', 'POST', `/jobs/${other.id}/savepoints`, {
      body: '{}',
      headers: { 'content-type': 'application/json' },
    })
    await call('operator', 'GET', '/overview')
    const lines = auditLines(proxies.operator).slice(before)
    expect(lines).toHaveLength(2)
    expect(lines[0]).toMatchObject({
      subject: 'anonymous',
      allowed: true,
      preset: 'operator',
      action: 'PATCH /jobs/:jobid',
      category: 'CTRL',
      jobId: job.id,
      status: 202,
    })
    expect(lines[1]).toMatchObject({
      action: 'POST /jobs/:jobid/savepoints',
      jobId: other.id,
      triggerId: savepoint.json()['request-id'],
      status: 202,
    })
    expect(typeof lines[1]!.time).toBe('string')
  })

  it("records a viewer's refused attempt to shut the cluster down", async () => {
    const before = auditLines(proxies.viewer).length
    await call('viewer', 'DELETE', '/cluster')
    expect(auditLines(proxies.viewer).slice(before)).toEqual([
      expect.objectContaining({
        allowed: false,
        denial: 'FG_ERR_AUTHZ_PRESET_INSUFFICIENT',
        preset: 'viewer',
        action: 'DELETE /cluster',
        category: 'CLUSTER',
        status: 403,
      }),
    ])
  })
})

describe('network allowlist', () => {
  const proxiesToClose: TestProxy[] = []
  afterAll(() => Promise.all(proxiesToClose.map((proxy) => proxy.close(1_000))))
  const start = async (authz: Record<string, unknown>) => {
    const proxy = await startProxy(standin.url, {
      auth: { anonymous: { roles: ['v'] } },
      authz: { roles: { v: 'viewer' }, ...authz },
    })
    proxiesToClose.push(proxy)
    return proxy
  }

  it('refuses a client outside allowedNetworks before anything else, and lets one inside through', async () => {
    const outside = await start({ allowedNetworks: ['10.0.0.0/8', '2001:db8::/32'] })
    const refused = await request(`${outside.proxyUrl}/overview`)
    expect(refused.statusCode).toBe(403)
    expect(refused.headers['x-flink-guard-error']).toBe('FG_ERR_AUTHZ_NETWORK_DENIED')
    await refused.body.dump()
    const inside = await start({ allowedNetworks: ['127.0.0.0/8'] })
    const allowed = await request(`${inside.proxyUrl}/overview`)
    await allowed.body.dump()
    expect(allowed.statusCode).toBe(200)
    expect(standin.record.count).toBe(1)
  })

  it('believes X-Forwarded-For only from a trusted proxy', async () => {
    const untrusting = await start({ allowedNetworks: ['10.0.0.0/8'] })
    const spoofed = await request(`${untrusting.proxyUrl}/overview`, {
      headers: { 'x-forwarded-for': '10.1.2.3' },
    })
    await spoofed.body.dump()
    expect(spoofed.statusCode).toBe(403)
    const trusting = await start({ allowedNetworks: ['10.0.0.0/8'], trustedProxies: ['127.0.0.1'] })
    const forwarded = await request(`${trusting.proxyUrl}/overview`, {
      headers: { 'x-forwarded-for': '10.1.2.3' },
    })
    await forwarded.body.dump()
    expect(forwarded.statusCode).toBe(200)
    expect(standin.record.last?.headers['x-forwarded-for']).toBe('10.1.2.3')
  })
})
