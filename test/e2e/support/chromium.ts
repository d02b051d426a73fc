import { createHash, X509Certificate } from 'node:crypto'
import { join } from 'node:path'
import { chromium, type LaunchOptions, type Page } from 'playwright-core'
import { expect } from 'vitest'

/**
 * Debian's Chromium driven by playwright-core, trusting exactly the key of the test CA's leaf that the proxy
 * and the provider present (--ignore-certificate-errors-spki-list): certificates are verified, not ignored.
 */

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
/** Screenshots for looking at after a run (git-ignored); the ones the docs show go to docs/screenshots/. */
export const SCREENSHOTS = join(import.meta.dirname, '../screenshots')

/** Chromium's pin format: base64 of the SHA-256 of the leaf's SubjectPublicKeyInfo (DER). */
function spkiHash(pem: string): string {
  const certificate = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/.exec(pem)![0]
  const spki = new X509Certificate(certificate).publicKey.export({ type: 'spki', format: 'der' })
  return createHash('sha256').update(spki).digest('base64')
}

/** The launch options for a headless Chromium that trusts `leafPem`'s key and nothing it was not told to. */
export function chromiumOptions(leafPem: string): LaunchOptions {
  return {
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
      `--ignore-certificate-errors-spki-list=${spkiHash(leafPem)}`,
    ],
  }
}

export const launchChromium = (leafPem: string) => chromium.launch(chromiumOptions(leafPem))

/**
 * Opens the proxy, is sent to the dev provider's login page (any login name and password), signs in as
 * `login`, consents, and resolves once the callback has brought the browser back to the proxy.
 */
export async function signInThroughProvider(
  page: Page,
  publicUrl: string,
  issuer: string,
  login: string,
): Promise<void> {
  await page.goto(`${publicUrl}/`)
  expect(new URL(page.url()).origin).toBe(issuer)
  await page.fill('input[name="login"]', login)
  await page.fill('input[name="password"]', 'any password')
  await Promise.all([
    page.waitForURL((url) => url.pathname.startsWith('/interaction/')),
    page.click('button[type="submit"]'),
  ])
  // The consent page, then back through the callback to the dashboard.
  await Promise.all([
    page.waitForURL((url) => url.origin === publicUrl && url.pathname === '/'),
    page.click('button[type="submit"]'),
  ])
}
