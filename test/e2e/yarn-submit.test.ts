import { readdirSync, readFileSync } from 'node:fs'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, expect, it } from 'vitest'
import type { RunningServer } from '../../src/server.js'
import { type FlinkCluster, startFlinkCluster } from '../flink/support/flink.js'
import { GATEWAY_PASSWORD, htpasswdFor, startGateway } from '../integration/support/gateway.js'
import { fixture } from '../integration/support/tls-client.js'
import { flinkApp, type ResourceManagerStandin, startResourceManager } from '../integration/support/yarn.js'
import { launchChromium } from './support/chromium.js'

/**
 * The real 1.20 dashboard of a YARN application (a real JobManager whose cluster-id is the application id,
 * found through the RM stand-in). Under /proxy/application_… the dashboard hides its jar upload, written for
 * YARN's proxy, and links the `/jars` `address` instead; the gateway puts the application's host form there
 * (hostSuffix `.localhost`: Chromium resolves every *.localhost to loopback), where the upload works.
 */

const FLINK_LINE = '1.20.5'
const SETUP_TIMEOUT_MS = 240_000
const UI_TIMEOUT_MS = 20_000
const APP = 'application_1700000000000_0042'
const APP_HOST = 'application-1700000000000-0042.localhost'

let flink: FlinkCluster
let rm: ResourceManagerStandin
let gateway: RunningServer
let browser: Browser
let port: string

beforeAll(async () => {
  flink = await startFlinkCluster({
    version: FLINK_LINE,
    taskManager: false,
    config: { 'high-availability.cluster-id': APP },
  })
  rm = await startResourceManager()
  rm.apps.set(APP, flinkApp(APP, `127.0.0.1:${flink.restPort}`, { user: 'alice' }))
  gateway = await startGateway({
    auth: { basic: { htpasswd: htpasswdFor(['alice']), users: { alice: [] } } },
    yarn: {
      resourceManagers: [rm.url],
      allowedHosts: ['127.0.0.1'],
      allowedPorts: [String(flink.restPort)],
      hostSuffix: '.localhost',
      authz: { owner: 'deployer' },
    },
  })
  port = new URL(gateway.proxyUrl).port
  browser = await launchChromium(readFileSync(fixture('rest.signed.pem'), 'utf8'))
}, SETUP_TIMEOUT_MS)

afterAll(async () => {
  await browser?.close()
  await gateway?.close(1_000)
  await Promise.all([flink?.stop(), rm?.close()])
})

it('links the Submit page under /proxy/<id>/ to the host form, where the dashboard uploads a jar', async () => {
  const context = await browser.newContext({
    httpCredentials: { username: 'alice', password: GATEWAY_PASSWORD },
  })
  const page = await context.newPage()
  try {
    await page.goto(`http://127.0.0.1:${port}/proxy/${APP}/#/submit`)
    const link = page.getByRole('link', { name: 'here' })
    await link.waitFor({ timeout: UI_TIMEOUT_MS })
    expect(await page.textContent('body')).toContain("Yarn's AM proxy doesn't allow file uploads")
    expect(await link.getAttribute('href')).toBe(`http://${APP_HOST}:${port}/#/submit`)

    await Promise.all([page.waitForURL(`http://${APP_HOST}:${port}/#/submit`), link.click()])
    const upload = page.locator('#upload-file')
    await upload.waitFor({ state: 'attached', timeout: UI_TIMEOUT_MS })
    await upload.setInputFiles(flink.build.jobJar)
    await expect
      .poll(async () => (await page.textContent('body')) ?? '', { timeout: UI_TIMEOUT_MS })
      .toContain('flink-it.jar')
    expect(await page.textContent('body')).not.toContain("Yarn's AM proxy")
    // The upload reached the JobManager itself.
    const stored = readdirSync(flink.uploadDir, { recursive: true }).map(String)
    expect(stored.some((name) => name.endsWith('_flink-it.jar'))).toBe(true)
  } finally {
    await context.close()
  }
})
