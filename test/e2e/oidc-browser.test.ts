import { createHash, X509Certificate } from 'node:crypto'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type BrowserContext, chromium } from 'playwright-core'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { type Standin, startStandin } from '../../src/standin/server.js'
import { freePort } from '../integration/support/free-port.js'
import { type DevProvider, startDevProvider } from '../integration/support/oidc-provider.js'
import { startProxy, type TestProxy } from '../integration/support/proxy.js'
import { fixture, readFixture } from '../integration/support/tls-client.js'

/**
 * The OIDC login in a real browser: Debian's Chromium driven by playwright-core opens the proxy, is sent to
 * the provider's real login and consent pages, signs in, and lands on the stand-in's dashboard through the
 * proxy, whose script then loads /overview with the session cookie.
 *
 * Certificates are verified: the proxy and the provider present the test CA's leaf for localhost/127.0.0.1,
 * and Chromium is told to trust exactly that key (--ignore-certificate-errors-spki-list), not to ignore errors.
 */

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const SCREENSHOTS = join(import.meta.dirname, 'screenshots')
const CLIENT_ID = 'flink-guard-e2e'
const CLIENT_SECRET = 'client-secret-of-the-e2e-provider'

let standin: Standin
let idp: DevProvider
let proxy: TestProxy
let context: BrowserContext
let userDataDir: string
let publicUrl: string

/** Chromium's pin format: base64 of the SHA-256 of the leaf's SubjectPublicKeyInfo (DER). */
function spkiHash(pem: string): string {
  const certificate = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/.exec(pem)![0]
  const spki = new X509Certificate(certificate).publicKey.export({ type: 'spki', format: 'der' })
  return createHash('sha256').update(spki).digest('base64')
}

beforeAll(async () => {
  standin = await startStandin()
  const port = await freePort()
  publicUrl = `https://localhost:${port}`
  const leaf = readFixture('rest.signed.pem')
  idp = await startDevProvider({
    tls: { key: leaf, cert: leaf },
    clients: [{ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, publicUrl }],
  })
  proxy = await startProxy(standin.url, {
    listen: { host: '127.0.0.1', port },
    tls: { cert: fixture('rest.signed.pem'), key: fixture('rest.signed.pem') },
    auth: {
      oidc: {
        issuer: idp.issuer,
        clientId: CLIENT_ID,
        clientSecret: CLIENT_SECRET,
        publicUrl,
        cookieSecret: 'e2e-cookie-secret-0123456789abcdef0123456789',
        caFile: fixture('ca.pem'),
        scopes: ['openid', 'profile', 'email', 'groups'],
      },
    },
    authz: { roles: { 'flink-operators': 'operator', 'flink-viewers': 'viewer' } },
  })
  userDataDir = mkdtempSync(join(tmpdir(), 'fg-chromium-'))
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      `--ignore-certificate-errors-spki-list=${spkiHash(leaf.toString('utf8'))}`,
    ],
  })
})

afterAll(async () => {
  await context?.close()
  if (userDataDir !== undefined) rmSync(userDataDir, { recursive: true, force: true })
  await proxy?.close(1_000)
  await idp?.close()
  await standin?.close()
})

it('logs in through the provider and shows the dashboard through the proxy, with its API call answered', async () => {
  const page = await context.newPage()
  const flinkRequests: string[] = []
  page.on('request', (request) => flinkRequests.push(request.url()))

  await page.goto(`${publicUrl}/`)
  // The provider's development login page (any login name and password).
  expect(new URL(page.url()).origin).toBe(idp.issuer)
  await page.fill('input[name="login"]', 'alice')
  await page.fill('input[name="password"]', 'any password')
  await Promise.all([
    page.waitForURL((url) => url.pathname.startsWith('/interaction/')),
    page.click('button[type="submit"]'),
  ])
  // The consent page, then back through the callback to the dashboard.
  await Promise.all([page.waitForURL(`${publicUrl}/`), page.click('button[type="submit"]')])

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
  await Promise.all([
    page.waitForURL((url) => url.origin === idp.issuer),
    page.click('button[type="submit"]'),
  ])
  expect((await context.cookies(publicUrl)).map((cookie) => cookie.name)).not.toContain('__Host-fg_session.0')
  // The dashboard now sends the browser to log in again.
  await page.goto(`${publicUrl}/`)
  expect(new URL(page.url()).origin).toBe(idp.issuer)
})
