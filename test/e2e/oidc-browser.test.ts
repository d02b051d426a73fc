import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type BrowserContext, chromium } from 'playwright-core'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { type Standin, startStandin } from '../../src/standin/server.js'
import { chromiumOptions, SCREENSHOTS, signInThroughProvider } from './support/chromium.js'
import { type OidcProxy, startOidcProxy } from './support/oidc-proxy.js'

/**
 * The OIDC login in a real browser: Debian's Chromium driven by playwright-core opens the proxy, is sent to
 * the provider's real login and consent pages, signs in, and lands on the stand-in's dashboard through the
 * proxy, whose script then loads /overview with the session cookie.
 *
 * Certificates are verified: the proxy and the provider present the test CA's leaf for localhost/127.0.0.1,
 * and Chromium is told to trust exactly that key (--ignore-certificate-errors-spki-list), not to ignore errors.
 */

let standin: Standin
let guard: OidcProxy
let context: BrowserContext
let userDataDir: string
let publicUrl: string
let issuer: string

beforeAll(async () => {
  standin = await startStandin()
  guard = await startOidcProxy(standin.url, 'flink-guard-e2e')
  publicUrl = guard.publicUrl
  issuer = guard.idp.issuer
  userDataDir = mkdtempSync(join(tmpdir(), 'fg-chromium-'))
  context = await chromium.launchPersistentContext(userDataDir, chromiumOptions(guard.leafPem))
})

afterAll(async () => {
  await context?.close()
  if (userDataDir !== undefined) rmSync(userDataDir, { recursive: true, force: true })
  await guard?.close()
  await standin?.close()
})

it('logs in through the provider and shows the dashboard through the proxy, with its API call answered', async () => {
  const page = await context.newPage()
  const flinkRequests: string[] = []
  page.on('request', (request) => flinkRequests.push(request.url()))

  await signInThroughProvider(page, publicUrl, issuer, 'alice')

  await expect.poll(() => page.textContent('#overview'), { timeout: 10_000 }).toContain('"flink-version"')
  expect(await page.title()).toBe('Apache Flink Web Dashboard')
  expect(await page.textContent('h1')).toBe('Apache Flink Web Dashboard')
  mkdirSync(SCREENSHOTS, { recursive: true })
  await page.screenshot({ path: join(SCREENSHOTS, 'oidc-dashboard.png'), fullPage: true })

  // The session cookie: HttpOnly, Secure, SameSite=Lax, host-only, never seen by Flink.
  const cookies = await context.cookies(publicUrl)
  const session = cookies.find((cookie) => cookie.name === '__Host-fg_session.0')
  expect(session).toMatchObject({
    httpOnly: true,
    secure: true,
    sameSite: 'Lax',
    path: '/',
    domain: 'localhost',
  })
  expect(await page.evaluate('document.cookie')).not.toContain('__Host-fg_session')
  const overview = standin.record.requests.find((request) => request.url === '/overview')
  expect(overview).toBeDefined()
  expect(overview!.headers.cookie).toBeUndefined()
  expect(flinkRequests).toContain(`${publicUrl}/overview`)
})

it('signs out through the sign-out page: a GET only shows it, its form POST ends the session', async () => {
  const page = await context.newPage()
  expect((await context.cookies(publicUrl)).map((cookie) => cookie.name)).toContain('__Host-fg_session.0')
  const shown = await page.goto(`${publicUrl}/oauth2/logout`)
  expect(shown?.status()).toBe(200)
  // Opening the page changed nothing.
  expect((await context.cookies(publicUrl)).map((cookie) => cookie.name)).toContain('__Host-fg_session.0')
  await Promise.all([page.waitForURL((url) => url.origin === issuer), page.click('button[type="submit"]')])
  expect((await context.cookies(publicUrl)).map((cookie) => cookie.name)).not.toContain('__Host-fg_session.0')
  // The dashboard now sends the browser to log in again.
  await page.goto(`${publicUrl}/`)
  expect(new URL(page.url()).origin).toBe(issuer)
})
