import { readFileSync } from 'node:fs'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, expect, it } from 'vitest'
import type { RunningServer } from '../../src/server.js'
import { type FlinkCluster, startFlinkCluster } from '../flink/support/flink.js'
import { GATEWAY_PASSWORD, htpasswdFor, startGateway } from '../integration/support/gateway.js'
import { fixture } from '../integration/support/tls-client.js'
import { launchChromium } from './support/chromium.js'

/**
 * Two real Flink dashboards (1.20.5, the LTS; JobManagers only) under one gateway's prefixes, in Chromium with
 * Basic credentials: each page loads under /clusters/<name>/ and every call it makes stays under that prefix.
 */

const FLINK_LINE = '1.20.5'
const SETUP_TIMEOUT_MS = 240_000
const UI_TIMEOUT_MS = 20_000

let a: FlinkCluster
let b: FlinkCluster
let gateway: RunningServer
let browser: Browser
let base: string

beforeAll(async () => {
  a = await startFlinkCluster({ version: FLINK_LINE, taskManager: false })
  b = await startFlinkCluster({ version: FLINK_LINE, taskManager: false })
  gateway = await startGateway({
    tls: { cert: fixture('rest.signed.pem'), key: fixture('rest.signed.pem') },
    auth: { basic: { htpasswd: htpasswdFor(['alice']), users: { alice: ['team'] } } },
    authz: { roles: { team: 'viewer' } },
    clusters: [
      { name: 'a', upstream: { url: a.restUrl } },
      { name: 'b', upstream: { url: b.restUrl } },
    ],
  })
  base = gateway.proxyUrl
    .replace('http://127.0.0.1', 'https://localhost')
    .replace('https://127.0.0.1', 'https://localhost')
  browser = await launchChromium(readFileSync(fixture('rest.signed.pem'), 'utf8'))
}, SETUP_TIMEOUT_MS)

afterAll(async () => {
  await browser?.close()
  await gateway?.close(1_000)
  await Promise.all([a?.stop(), b?.stop()])
})

it.each(['a', 'b'])('loads the dashboard of %s under its prefix, and its calls stay there', async (name) => {
  const context = await browser.newContext({
    httpCredentials: { username: 'alice', password: GATEWAY_PASSWORD },
  })
  const page = await context.newPage()
  const api: string[] = []
  page.on('request', (request) => {
    if (['xhr', 'fetch'].includes(request.resourceType())) api.push(request.url())
  })
  try {
    // The bare prefix, as a user types it: redirected to the prefix with a slash.
    await page.goto(`${base}/clusters/${name}`)
    expect(page.url()).toBe(`${base}/clusters/${name}/`)
    await expect.poll(() => page.title(), { timeout: UI_TIMEOUT_MS }).toBe('Apache Flink Web Dashboard')
    await expect
      .poll(() => api.filter((url) => url === `${base}/clusters/${name}/jobs/overview`).length, {
        timeout: UI_TIMEOUT_MS,
      })
      .toBeGreaterThanOrEqual(2)
    expect(api.filter((url) => !url.startsWith(`${base}/clusters/${name}/`))).toEqual([])
    expect(api).toContain(`${base}/clusters/${name}/config`)
    // The banner names the cluster the prefix reaches; its who-am-I call stayed under the prefix (above).
    expect(await page.locator('.flink-guard-banner').innerText({ timeout: UI_TIMEOUT_MS })).toBe(
      `Signed in as alice (basic) · role viewer on ${name}`,
    )
  } finally {
    await context.close()
  }
})
