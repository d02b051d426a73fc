import { readFileSync } from 'node:fs'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { type Standin, startStandin } from '../../src/standin/server.js'
import { GATEWAY_PASSWORD, htpasswdFor } from '../integration/support/gateway.js'
import { startProxy, type TestProxy } from '../integration/support/proxy.js'
import { fixture } from '../integration/support/tls-client.js'
import { launchChromium } from './support/chromium.js'

/**
 * The user banner in Chromium, in front of the stand-in's page (the real dashboard's banner, with OIDC and its
 * sign-out, is in flink-dashboard.test.ts; under a gateway prefix in gateway-dashboard.test.ts): a hostile
 * subject stays text, a strict Content-Security-Policy does not stop it, and a who-am-I that does not answer
 * leaves the page as it was.
 */

const UI_TIMEOUT_MS = 20_000
/** A user name that is markup: drawn as text, it runs nothing. */
const HOSTILE = '<img src=x onerror="window.pwned=1">'

let standin: Standin
let proxy: TestProxy
let browser: Browser

beforeAll(async () => {
  standin = await startStandin()
  proxy = await startProxy(standin.url, {
    auth: {
      basic: { htpasswd: htpasswdFor(['vera', HOSTILE]), users: { vera: ['watchers'], [HOSTILE]: ['ops'] } },
    },
    authz: { roles: { watchers: 'viewer', ops: 'operator' } },
  })
  browser = await launchChromium(readFileSync(fixture('rest.signed.pem'), 'utf8'))
})
afterAll(async () => {
  await browser?.close()
  await proxy?.close(1_000)
  await standin?.close()
})

async function open(user: string, prepare?: (page: Page) => Promise<void>) {
  const context: BrowserContext = await browser.newContext({
    httpCredentials: { username: user, password: GATEWAY_PASSWORD },
  })
  const page = await context.newPage()
  await prepare?.(page)
  await page.goto(`${proxy.proxyUrl}/`)
  return { context, page }
}

const bannerText = (page: Page) => page.locator('.flink-guard-banner').innerText({ timeout: UI_TIMEOUT_MS })

it('shows who is signed in and their role; Basic has no sign-out link (the browser keeps that credential)', async () => {
  const { context, page } = await open('vera')
  try {
    expect(await bannerText(page)).toBe('Signed in as vera (basic) · role viewer')
    expect(await page.locator('.flink-guard-sign-out').count()).toBe(0)
    // The page's own script still ran: the banner took nothing from it.
    await expect
      .poll(() => page.locator('#overview').innerText(), { timeout: UI_TIMEOUT_MS })
      .toContain('taskmanagers')
  } finally {
    await context.close()
  }
})

it('draws a subject that is markup as text: no element is made from it, no script runs', async () => {
  const { context, page } = await open(HOSTILE)
  try {
    expect(await bannerText(page)).toBe(`Signed in as ${HOSTILE} (basic) · role operator`)
    expect(await page.locator('.flink-guard-banner img').count()).toBe(0)
    expect(await page.evaluate('window.pwned')).toBeUndefined()
  } finally {
    await context.close()
  }
})

it("is drawn under a strict policy (default-src 'self'), which blocks the page's own inline script", async () => {
  const { context, page } = await open('vera', async (page) => {
    // The browser's own report of what the policy blocked (a string: these tests compile without the DOM's types).
    await page.addInitScript(`
      window.violations = []
      document.addEventListener('securitypolicyviolation', (event) =>
        window.violations.push(event.violatedDirective + ' ' + event.blockedURI + ' ' + event.sourceFile))
    `)
    // As a front proxy that sets its own policy would: the page as flink-guard sent it, with the policy added.
    await page.route(`${proxy.proxyUrl}/`, async (route) => {
      const response = await route.fetch()
      await route.fulfill({
        response,
        headers: { ...response.headers(), 'content-security-policy': "default-src 'self'" },
      })
    })
  })
  try {
    expect(await bannerText(page)).toBe('Signed in as vera (basic) · role viewer')
    const violations = (await page.evaluate('window.violations')) as string[]
    // The stand-in's inline script was blocked, so the policy was in force; nothing of flink-guard's was.
    expect(violations.some((line) => line.includes('inline'))).toBe(true)
    expect(violations.filter((line) => line.includes('_flink-guard'))).toEqual([])
  } finally {
    await context.close()
  }
})

it('leaves the page as it was when who-am-I does not answer', async () => {
  const { context, page } = await open('vera', async (page) => {
    await page.route('**/_flink-guard/whoami', (route) => route.abort('connectionrefused'))
  })
  try {
    await expect
      .poll(() => page.locator('#overview').innerText(), { timeout: UI_TIMEOUT_MS })
      .toContain('taskmanagers')
    expect(await page.locator('.flink-guard-banner').count()).toBe(0)
  } finally {
    await context.close()
  }
})
