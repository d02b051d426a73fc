import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { jobState, type RunningJob, runEndlessJob, waitForJobState } from '../flink/support/endless-job.js'
import { type FlinkCluster, startFlinkCluster } from '../flink/support/flink.js'
import { launchChromium, SCREENSHOTS, signInThroughProvider } from './support/chromium.js'
import { type OidcProxy, startOidcProxy } from './support/oidc-proxy.js'

/**
 * The real Flink dashboard (flink-runtime-web 1.20.5, the LTS) through flink-guard, in Chromium, after an
 * OIDC login: a real session cluster runs the EndlessJob, flink-guard is in front of it with TLS and
 * auth.oidc, and the dev provider's `bob` is a viewer, `alice` an operator. Needs Java 17 and Maven (flink-it
 * is built on first use), and fails without them. Pinned to the LTS: 2.3's dashboard lands on applications
 * (it polls overview and applications/overview, not jobs/overview), so its pages need their own test.
 */

const JOB_NAME = 'endless-behind-flink-guard'
/**
 * Committed screenshots, shown by README.md: rewritten only with UPDATE_SCREENSHOTS=1 (every run has new job
 * ids and times, so a plain run writes them beside the others, into the ignored test/e2e/screenshots).
 */
const DOC_SCREENSHOTS =
  process.env.UPDATE_SCREENSHOTS === '1' ? join(import.meta.dirname, '../../docs/screenshots') : SCREENSHOTS
const VIEWPORT = { width: 1400, height: 860 }
const FLINK_LINE = '1.20.5'
const SETUP_TIMEOUT_MS = 240_000
const UI_TIMEOUT_MS = 20_000
/**
 * flink-guard's refusal of a viewer's cancel (errors[0]). The 1.20 dashboard cancels with the legacy
 * `GET jobs/:jobid/yarn-cancel`, a GET that changes state; newer ones may PATCH jobs/:jobid?mode=cancel.
 */
const VIEWER_CANCEL_REFUSAL =
  /^Your preset does not allow this Flink action: (GET \/jobs\/:jobid\/yarn-cancel|PATCH \/jobs\/:jobid) \(CTRL\) needs preset operator; yours is viewer$/

let cluster: FlinkCluster
let job: RunningJob
let guard: OidcProxy
let browser: Browser
let publicUrl: string

beforeAll(async () => {
  cluster = await startFlinkCluster({ version: FLINK_LINE })
  job = await runEndlessJob(cluster, JOB_NAME)
  guard = await startOidcProxy(cluster.restUrl, 'flink-guard-e2e-dashboard')
  publicUrl = guard.publicUrl
  browser = await launchChromium(guard.leafPem)
  mkdirSync(SCREENSHOTS, { recursive: true })
  mkdirSync(DOC_SCREENSHOTS, { recursive: true })
}, SETUP_TIMEOUT_MS)

afterAll(async () => {
  await browser?.close()
  await guard?.close()
  await cluster?.stop()
})

interface DashboardSession {
  readonly context: BrowserContext
  readonly page: Page
  /** Every XHR and fetch the dashboard made, in order, as absolute URLs. */
  readonly api: string[]
}

/** Signs `login` in through the provider and waits until the dashboard has loaded and started polling. */
async function openDashboardAs(login: string): Promise<DashboardSession> {
  const context = await browser.newContext({ viewport: VIEWPORT })
  const page = await context.newPage()
  const api: string[] = []
  page.on('request', (request) => {
    if (['xhr', 'fetch'].includes(request.resourceType())) api.push(request.url())
  })
  await signInThroughProvider(page, publicUrl, guard.idp.issuer, login)
  await expect
    .poll(() => api.filter((url) => url === `${publicUrl}/jobs/overview`).length, { timeout: UI_TIMEOUT_MS })
    .toBeGreaterThanOrEqual(2)
  return { context, page, api }
}

/** flink-guard's banner (src/dashboard/), drawn from who-am-I once the page has loaded. */
const bannerOf = (page: Page) => page.locator('.flink-guard-banner').innerText({ timeout: UI_TIMEOUT_MS })

/** Opens the job from the dashboard's running-job list, as a user clicks it. */
async function openJobFromList(page: Page): Promise<void> {
  await page.getByText(JOB_NAME).first().click({ timeout: UI_TIMEOUT_MS })
  await page.waitForURL((url) => url.hash.startsWith(`#/job/running/${job.jobId}`), {
    timeout: UI_TIMEOUT_MS,
  })
  // The job graph, drawn from jobs/:jobid's plan once it has loaded; the job's header (and its Cancel Job
  // button, where the dashboard offers it) is on the page by then.
  await page.getByText('Parallelism: 1').first().waitFor({ timeout: UI_TIMEOUT_MS })
}

/** Clicks Cancel Job and the popconfirm's Yes; resolves with flink-guard's or Flink's answer to the cancel. */
async function cancelFromJobPage(page: Page) {
  const cancels = [`${publicUrl}/jobs/${job.jobId}/yarn-cancel`, `${publicUrl}/jobs/${job.jobId}?mode=cancel`]
  await page.getByText('Cancel Job').click()
  const [response] = await Promise.all([
    page.waitForResponse((response) => cancels.includes(response.url()), { timeout: UI_TIMEOUT_MS }),
    page.getByRole('button', { name: 'Yes' }).click(),
  ])
  await page.locator('.ant-popover').waitFor({ state: 'hidden', timeout: UI_TIMEOUT_MS })
  return response
}

it('loads the real dashboard for a viewer: /config first, then the polling, with the running job listed', async () => {
  const { context, page, api } = await openDashboardAs('bob')
  try {
    // The dashboard asks for ./config before anything else (the app initializer), then polls.
    expect(api[0]).toBe(`${publicUrl}/config`)
    expect(api).toContain(`${publicUrl}/overview`)
    expect(api).toContain(`${publicUrl}/jobs/overview`)
    expect(await page.title()).toBe('Apache Flink Web Dashboard')
    await expect.poll(() => page.getByText(JOB_NAME).count(), { timeout: UI_TIMEOUT_MS }).toBeGreaterThan(0)
    await page.screenshot({ path: join(SCREENSHOTS, 'flink-dashboard-viewer-overview.png') })
    // The banner's way out leads to the sign-out page, which says what it does before it does it.
    expect(await bannerOf(page)).toBe('Signed in as bob (oidc) · role viewer Sign out')
    await page.locator('.flink-guard-banner').getByRole('link', { name: 'Sign out' }).click()
    await page.getByRole('button', { name: 'Sign out' }).waitFor({ timeout: UI_TIMEOUT_MS })
  } finally {
    await context.close()
  }
})

it("offers a viewer no Cancel Job (flink-guard answers /config's web-cancel for them), and refuses the cancel anyway", async () => {
  const { context, page } = await openDashboardAs('bob')
  try {
    await openJobFromList(page)
    expect(await page.getByText('Cancel Job').count()).toBe(0)
    expect(await page.getByText('Submit New Job').count()).toBe(0)
    expect(await bannerOf(page)).toBe('Signed in as bob (oidc) · role viewer Sign out')
    await page.screenshot({ path: join(DOC_SCREENSHOTS, 'flink-dashboard-viewer-job.png') })
    // The call the button would make, sent by the page itself (its origin, its session): still refused.
    const refusal = await page.evaluate(async (jobId) => {
      const response = await fetch(`jobs/${jobId}/yarn-cancel`)
      return {
        status: response.status,
        code: response.headers.get('x-flink-guard-error'),
        body: await response.json(),
      }
    }, job.jobId)
    expect(refusal).toEqual({
      status: 403,
      code: 'FG_ERR_AUTHZ_PRESET_INSUFFICIENT',
      body: { errors: [expect.stringMatching(VIEWER_CANCEL_REFUSAL)] },
    })
    expect(await jobState(cluster, job.jobId)).toBe('RUNNING')
  } finally {
    await context.close()
  }
})

it("shows a viewer who opens an admin's page in the address bar a refusal page, not JSON; the dashboard's calls keep JSON", async () => {
  const { context, page } = await openDashboardAs('bob')
  try {
    const answer = await page.goto(`${publicUrl}/jobmanager/config`)
    expect(answer?.status()).toBe(403)
    expect(answer?.headers()['content-type']).toBe('text/html; charset=utf-8')
    await page
      .getByRole('heading', { name: 'flink-guard refused this request' })
      .waitFor({ timeout: UI_TIMEOUT_MS })
    expect(await page.locator('body').innerText()).toContain('You are signed in as bob (oidc), role viewer.')
    expect(await page.locator('code').first().innerText()).toBe('GET /jobmanager/config')
    await page.screenshot({ path: join(DOC_SCREENSHOTS, 'flink-guard-refusal-page.png') })
    // The way back leads to the dashboard, the way out to the sign-out page.
    await page.getByRole('link', { name: 'Sign out' }).click()
    await page.getByRole('button', { name: 'Sign out' }).waitFor({ timeout: UI_TIMEOUT_MS })
    await page.goBack()
    await page.getByRole('link', { name: 'Back to the dashboard' }).click()
    await expect.poll(() => page.title(), { timeout: UI_TIMEOUT_MS }).toBe('Apache Flink Web Dashboard')
    // The same route fetched by the dashboard's script (the refusal page's own policy lets no script fetch):
    // Flink's JSON error, which the dashboard's code reads.
    const scripted = await page.evaluate(async () => {
      const response = await fetch('jobmanager/config')
      return { type: response.headers.get('content-type'), body: await response.json() }
    })
    expect(scripted).toEqual({
      type: 'application/json; charset=utf-8',
      body: { errors: [expect.any(String)] },
    })
  } finally {
    await context.close()
  }
})

it('lets an operator open the job page without a refusal, and cancel the job in Flink', async () => {
  const { context, page, api } = await openDashboardAs('alice')
  try {
    await openJobFromList(page)
    await expect.poll(() => page.getByText('Cancel Job').count(), { timeout: UI_TIMEOUT_MS }).toBe(1)
    // An operator may not upload: the dashboard's Submit New Job entry is not offered.
    expect(await page.getByText('Submit New Job').count()).toBe(0)
    await expect.poll(() => page.getByText('RUNNING').count(), { timeout: UI_TIMEOUT_MS }).toBeGreaterThan(0)
    expect(api).toContain(`${publicUrl}/jobs/${job.jobId}`)
    expect(await page.locator('.ant-notification-notice').count()).toBe(0)
    expect(await bannerOf(page)).toBe('Signed in as alice (oidc) · role operator Sign out')
    await page.screenshot({ path: join(DOC_SCREENSHOTS, 'flink-dashboard-operator-job.png') })

    const response = await cancelFromJobPage(page)
    expect(response.status()).toBe(202)
    await waitForJobState(cluster, job.jobId, 'CANCELED')
  } finally {
    await context.close()
  }
})
