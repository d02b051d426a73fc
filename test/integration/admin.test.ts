import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Standin, startStandin } from '../../src/standin/server.js'
import { freePort } from './support/free-port.js'
import { startProxy, type TestProxy } from './support/proxy.js'

describe('admin listener', () => {
  let standin: Standin
  let proxy: TestProxy
  beforeAll(async () => {
    standin = await startStandin()
    proxy = await startProxy(standin.url)
  })
  afterAll(() => proxy.close(1_000))

  it('serves health on its own port, never on the proxy port', async () => {
    const health = await request(`${proxy.adminUrl}/healthz`)
    expect(health.statusCode).toBe(200)
    expect(await health.body.json()).toEqual({ status: 'alive' })
    expect(proxy.adminUrl).not.toBe(proxy.proxyUrl)
    // On the proxy port, /healthz is just another path forwarded to Flink.
    const forwarded = await request(`${proxy.proxyUrl}/healthz`)
    await forwarded.body.dump()
    expect(standin.record.last?.url).toBe('/healthz')
  })

  it("answers unknown admin paths with 404 in Flink's error shape", async () => {
    const response = await request(`${proxy.adminUrl}/metricz`)
    expect(response.statusCode).toBe(404)
    expect(response.headers['x-flink-guard-error']).toBe('FG_ERR_ADMIN_NOT_FOUND')
    expect(await response.body.json()).toEqual({ errors: ['No such admin endpoint'] })
  })

  it('is ready while Flink answers, 503 with the reason once it stops, and the proxy then answers 503', async () => {
    const ready = await request(`${proxy.adminUrl}/readyz`)
    expect(ready.statusCode).toBe(200)
    expect(await ready.body.json()).toEqual({ status: 'ready', checks: { upstream: { ok: true } } })
    expect(standin.record.last?.url).toBe('/config')

    await standin.close()

    const notReady = await request(`${proxy.adminUrl}/readyz`)
    expect(notReady.statusCode).toBe(503)
    const body = (await notReady.body.json()) as {
      errors: string[]
      code: string
      checks: { upstream: { ok: boolean } }
    }
    expect(body.code).toBe('FG_ERR_ADMIN_NOT_READY')
    expect(body.checks.upstream.ok).toBe(false)
    expect(body.errors[0]).toMatch(/^flink-guard is not ready: upstream: GET \/config failed: ECONNREFUSED/)

    const overview = await request(`${proxy.proxyUrl}/overview`)
    expect(overview.statusCode).toBe(503)
    expect(overview.headers['x-flink-guard-error']).toBe('FG_ERR_UPSTREAM_UNAVAILABLE')
    expect(await overview.body.json()).toEqual({ errors: [expect.any(String)] })
  })
})

describe('readiness over an upstream restart', () => {
  it('flips to 503 naming the upstream while Flink is down, and back to 200 when it returns', async () => {
    const first = await startStandin()
    const proxy = await startProxy(first.url)
    const readyz = async () => {
      const response = await request(`${proxy.adminUrl}/readyz`)
      return { status: response.statusCode, body: JSON.stringify(await response.body.json()) }
    }
    try {
      expect((await readyz()).status).toBe(200)
      await first.close()
      const down = await readyz()
      expect(down.status).toBe(503)
      expect(down.body).toContain('upstream')
      // Flink comes back on the same port (a JobManager restart).
      const second = await startStandin({ port: first.port })
      try {
        expect(await readyz()).toEqual({
          status: 200,
          body: JSON.stringify({ status: 'ready', checks: { upstream: { ok: true } } }),
        })
      } finally {
        await second.close()
      }
    } finally {
      await proxy.close(1_000)
    }
  })
})

describe('probes while the identity provider is unreachable', () => {
  let standin: Standin
  let proxy: TestProxy
  beforeAll(async () => {
    standin = await startStandin()
    // A JWKS URI nothing listens on: the provider is down from the start.
    const idp = `http://127.0.0.1:${await freePort()}/jwks.json`
    proxy = await startProxy(standin.url, {
      auth: {
        jwt: { issuer: 'https://idp.test', audience: 'flink-guard', jwksUri: idp },
        anonymous: { roles: ['tester'] },
      },
    })
  })
  afterAll(async () => {
    await proxy.close(1_000)
    await standin.close()
  })

  const get = async (path: string) => {
    const response = await request(`${proxy.adminUrl}${path}`)
    return { status: response.statusCode, body: (await response.body.json()) as Record<string, unknown> }
  }

  it('liveness and startup (/healthz) ask the process alone', async () => {
    expect(await get('/healthz')).toEqual({ status: 200, body: { status: 'alive' } })
  })

  it('/readyz stays 200 and shows the provider check as a warning', async () => {
    const ready = await get('/readyz')
    expect(ready.status).toBe(200)
    expect(ready.body).toMatchObject({
      status: 'ready',
      checks: { upstream: { ok: true }, 'auth.jwt': { ok: false } },
      warnings: [expect.stringMatching(/^auth\.jwt: JWKS not loaded yet: /)],
    })
  })

  it('/readyz/strict fails on it, naming the check', async () => {
    const strict = await get('/readyz/strict')
    expect(strict.status).toBe(503)
    expect(strict.body).toMatchObject({
      code: 'FG_ERR_ADMIN_NOT_READY',
      errors: [expect.stringMatching(/^flink-guard is not ready: auth\.jwt: JWKS not loaded yet/)],
    })
  })

  it('/readyz still fails when Flink itself does not answer', async () => {
    await standin.close()
    const ready = await get('/readyz')
    expect(ready.status).toBe(503)
    expect(ready.body.errors).toEqual([expect.stringMatching(/^flink-guard is not ready: upstream: /)])
    // The provider's check is not among the reasons /readyz gives.
    expect(String((ready.body.errors as string[])[0])).not.toContain('auth.jwt')
  })
})
