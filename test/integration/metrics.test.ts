import { readFileSync } from 'node:fs'
import { Client, request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { FLINK_ROUTES } from '../../src/authz/routes.js'
import { type Standin, startStandin } from '../../src/standin/server.js'
import { startProxy, type TestProxy } from './support/proxy.js'

async function scrape(proxy: TestProxy): Promise<string> {
  const response = await request(`${proxy.adminUrl}/metrics`)
  expect(response.statusCode).toBe(200)
  expect(response.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/)
  return response.body.text()
}

function seriesOf(text: string, name: string): string[] {
  return text.split('\n').filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `))
}

describe('Prometheus metrics on the admin listener', () => {
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

  it('labels requests by Flink route template, never by raw URL', async () => {
    const jobs = (await (await request(`${standin.url}/jobs`)).body.json()) as { jobs: { id: string }[] }
    const id = jobs.jobs[0]!.id
    // A raw client: undici's request(url) would resolve the dot segments before sending.
    const client = new Client(proxy.proxyUrl)
    for (const path of ['/overview', `/jobs/${id}`, `/v1/jobs/${id}`, '/index.html', '/jobs/../etc/passwd']) {
      await (await client.request({ method: 'GET', path })).body.dump()
    }
    await client.close()
    const text = await scrape(proxy)
    expect(text).toContain('flink_guard_requests_total{route="/overview",method="GET",status="200"} 1')
    expect(text).toContain('flink_guard_requests_total{route="/jobs/:jobid",method="GET",status="200"} 2')
    expect(text).toContain('flink_guard_requests_total{route="static",method="GET",status="200"} 1')
    expect(text).toMatch(/flink_guard_requests_total\{route="invalid",method="GET",status="\d+"\} 1/)
    expect(text).not.toContain(id)
    expect(text).toMatch(
      /flink_guard_request_duration_seconds_bucket\{le="0\.0005",route="\/overview",method="GET"\}/,
    )
    expect(text).toMatch(/flink_guard_upstream_duration_seconds_count\{route="\/overview"\} 1/)
    expect(text).toContain('flink_guard_upstream_up 1')
    expect(text).toContain('process_cpu_seconds_total')
  })

  it("carries the package's version and the Node.js version in flink_guard_build_info", async () => {
    const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'))
    expect(version).toMatch(/^\d+\.\d+\.\d+/)
    expect(seriesOf(await scrape(proxy), 'flink_guard_build_info')).toEqual([
      `flink_guard_build_info{version="${version}",node_version="${process.versions.node}"} 1`,
    ])
  })

  it('keeps the series count bounded while 10,000 random paths are scanned', async () => {
    const before = seriesOf(await scrape(proxy), 'flink_guard_requests_total').length
    const scan = Array.from(
      { length: 10_000 },
      (_, i) => `/${Math.random().toString(36).slice(2)}/${i}/x?y=${i}`,
    )
    for (let i = 0; i < scan.length; i += 100) {
      await Promise.all(
        scan.slice(i, i + 100).map(async (path, j) => {
          const method = ['GET', 'POST', 'DELETE', 'PATCH'][j % 4]!
          await (await request(`${proxy.proxyUrl}${path}`, { method })).body.dump()
        }),
      )
    }
    const after = seriesOf(await scrape(proxy), 'flink_guard_requests_total')
    expect(after.length - before).toBeLessThanOrEqual(8)
    const allowed = new Set([...FLINK_ROUTES.map((route) => route.template), 'static', 'unknown', 'invalid'])
    for (const series of after) expect(allowed).toContain(/route="([^"]*)"/.exec(series)?.[1])
  }, 60_000)

  it('is not served on the proxy port', async () => {
    await (await request(`${proxy.proxyUrl}/metrics`)).body.dump()
    expect(standin.record.last?.url).toBe('/metrics')
  })
})
