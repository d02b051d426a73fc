import { existsSync, readdirSync } from 'node:fs'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RunningServer } from '../../src/server.js'
import { basicAuth, htpasswdFor, startGateway } from '../integration/support/gateway.js'
import { curl, fixture, TRUSTSTORE_PASSWORD } from '../integration/support/tls-client.js'
import { flinkApp, type ResourceManagerStandin, startResourceManager } from '../integration/support/yarn.js'
import { type FlinkCluster, startFlinkCluster } from './support/flink.js'
import { type FlinkCli, type FlinkCliResult, flinkCli } from './support/flink-cli.js'

/**
 * Two real Flinks behind one gateway (issue 16, item 1): `a` by path prefix only, `b` by prefix and by the host
 * name `localhost`. alice is viewer on a and deployer on b. Flink's own CLI and curl drive it over TLS, as a
 * user would: `-m https://127.0.0.1:<port>/clusters/<name>` (the CLI turns the path into rest.path).
 * No TaskManagers: submission, listing and uploads need only the JobManager.
 */

let a: FlinkCluster
let b: FlinkCluster
let gateway: RunningServer
let cli: FlinkCli
let port: number
let rm: ResourceManagerStandin
/** b also runs as this YARN application: its cluster-id says so, as YarnClusterDescriptor sets it. */
const APP_B = 'application_1700000000000_0042'
/** An application the RM says lives at a's address; a's Flink says otherwise. */
const APP_FAKE = 'application_1700000000000_0043'
const ALICE = basicAuth('alice')
const env = { FLINK_REST_CLIENT_HEADERS: `Authorization:${ALICE}` }
const output = (result: FlinkCliResult) => `${result.stdout}\n${result.stderr}`
const byPrefix = (cluster: string) => `https://127.0.0.1:${port}/clusters/${cluster}`

beforeAll(async () => {
  a = await startFlinkCluster({ taskManager: false })
  b = await startFlinkCluster({ taskManager: false, config: { 'high-availability.cluster-id': APP_B } })
  rm = await startResourceManager()
  rm.apps.set(APP_B, flinkApp(APP_B, `127.0.0.1:${b.restPort}`, { user: 'alice' }))
  rm.apps.set(APP_FAKE, flinkApp(APP_FAKE, `127.0.0.1:${a.restPort}`, { user: 'alice' }))
  gateway = await startGateway({
    tls: { cert: fixture('rest.signed.pem'), key: fixture('rest.signed.pem') },
    auth: { basic: { htpasswd: htpasswdFor(['alice']), users: { alice: ['team-a', 'team-b'] } } },
    clusters: [
      { name: 'a', upstream: { url: a.restUrl }, authz: { roles: { 'team-a': 'viewer' } } },
      {
        name: 'b',
        upstream: { url: b.restUrl },
        hosts: ['localhost'],
        authz: { roles: { 'team-b': 'deployer' } },
      },
    ],
    // alice has no role on YARN applications: only being the owner makes her deployer there.
    yarn: {
      resourceManagers: [rm.url],
      allowedHosts: ['127.0.0.1'],
      allowedPorts: [String(a.restPort), String(b.restPort)],
      authz: { owner: 'deployer' },
    },
  })
  port = Number(new URL(gateway.proxyUrl).port)
  cli = flinkCli(a.build, {
    'security.ssl.rest.enabled': true,
    'security.ssl.rest.truststore': fixture('ca.truststore'),
    'security.ssl.rest.truststore-password': TRUSTSTORE_PASSWORD,
  })
})
afterAll(async () => {
  await gateway?.close(1_000)
  await Promise.all([a?.stop(), b?.stop(), rm?.close()])
})

/** Job ids a Flink itself reports (asked directly, not through the gateway). */
async function jobsOf(flink: FlinkCluster): Promise<string[]> {
  const response = await request(`${flink.restUrl}/jobs`)
  const { jobs } = (await response.body.json()) as { jobs: { id: string }[] }
  return jobs.map((job) => job.id)
}

function submittedJobId(result: FlinkCliResult): string {
  const id = /Job has been submitted with JobID ([0-9a-f]{32})/.exec(result.stdout)?.[1]
  if (id === undefined) throw new Error(`no job id in the CLI's output:\n${output(result)}`)
  return id
}

/** curl to the gateway as alice; the body and the status. */
async function viaCurl(args: readonly string[]): Promise<{ status: number; body: string }> {
  const result = await curl([
    '--cacert',
    fixture('ca.pem'),
    '-H',
    `Authorization: ${ALICE}`,
    '-w',
    '\n%{http_code}',
    ...args,
  ])
  expect(result.code, result.stderr).toBe(0)
  const at = result.stdout.lastIndexOf('\n')
  return { status: Number(result.stdout.slice(at + 1)), body: result.stdout.slice(0, at) }
}

describe('the real CLI through /clusters/<name>', () => {
  it('`flink list -m https://gw/clusters/a` reaches a', async () => {
    const result = await cli.run(['list', '-m', byPrefix('a')], env)
    expect(result.code, output(result)).toBe(0)
    expect(result.stdout).toContain('No running jobs.')
  })

  it('refuses the viewer of a its `flink run -d` there, and Flink a never sees the job', async () => {
    const result = await cli.run(['run', '-d', '-m', byPrefix('a'), a.build.jobJar, '--name', 'fg-on-a'], env)
    expect(result.code).not.toBe(0)
    expect(output(result)).toContain('Your preset does not allow this Flink action')
    expect(await jobsOf(a)).toEqual([])
  })

  it('lets the same user, deployer on b, `flink run -d` there (the multipart POST /jobs)', async () => {
    const result = await cli.run(['run', '-d', '-m', byPrefix('b'), b.build.jobJar, '--name', 'fg-on-b'], env)
    expect(result.code, output(result)).toBe(0)
    const jobId = submittedJobId(result)
    expect(await jobsOf(b)).toContain(jobId)
    expect(await jobsOf(a)).toEqual([])
  })

  it('reaches b by its host name with no prefix: `-m https://localhost:<port>`', async () => {
    const result = await cli.run(['run', '-d', '-m', `https://localhost:${port}`, b.build.jobJar], env)
    expect(result.code, output(result)).toBe(0)
    expect(await jobsOf(b)).toContain(submittedJobId(result))
    const list = await cli.run(['list', '-m', `https://localhost:${port}`], env)
    expect(list.code, output(list)).toBe(0)
    expect(list.stdout).toContain('fg-on-b')
  })
})

describe('curl and the dashboard under the prefix', () => {
  it('refuses the jar upload on a and stores it on b (curl -F jarfile=@job.jar)', async () => {
    const onA = await viaCurl(['-F', `jarfile=@${a.build.jobJar}`, `${byPrefix('a')}/jars/upload`])
    expect(onA.status).toBe(403)
    expect(JSON.parse(onA.body)).toEqual({ errors: [expect.stringMatching(/^Your preset does not allow/)] })
    const onB = await viaCurl(['-F', `jarfile=@${b.build.jobJar}`, `${byPrefix('b')}/jars/upload`])
    expect(onB.status).toBe(200)
    const jarId = (JSON.parse(onB.body) as { filename: string }).filename.split('/').at(-1)!
    expect(jarId).toMatch(/_flink-it\.jar$/)
    expect(filesUnder(b.uploadDir).some((name) => name === jarId)).toBe(true)
    expect(filesUnder(a.uploadDir).filter((name) => name.endsWith('.jar'))).toEqual([])
  })

  it("serves each Flink's dashboard at its prefix and redirects the bare prefix there", async () => {
    const page = await viaCurl([`${byPrefix('a')}/`])
    expect(page.status).toBe(200)
    expect(page.body).toContain('<title>Apache Flink Web Dashboard</title>')
    // Relative URLs resolve under the prefix: the page's own script comes from a through the gateway.
    expect(page.body).toContain('<base href="./">')
    const script = /src="(main\.[0-9a-f]+\.js)"/.exec(page.body)?.[1]
    expect(script).toBeDefined()
    expect((await viaCurl(['-o', '/dev/null', `${byPrefix('a')}/${script}`])).status).toBe(200)
    const bare = await viaCurl(['-o', '/dev/null', '-D', '-', byPrefix('a')])
    expect(bare.status).toBe(308)
    expect(bare.body).toMatch(/^location: \/clusters\/a\/\r?$/im)
    // The dashboard's first calls, relative to the page: each lands on its own Flink.
    const onB = await viaCurl([`${byPrefix('b')}/jobs/overview`])
    expect((JSON.parse(onB.body) as { jobs: unknown[] }).jobs.length).toBeGreaterThan(0)
    const onA = await viaCurl([`${byPrefix('a')}/jobs/overview`])
    expect(JSON.parse(onA.body)).toEqual({ jobs: [] })
  })

  it('refuses a climb from a to b before any Flink is asked', async () => {
    for (const path of [
      '/clusters/a/../b/jobs/overview',
      '/clusters/a/%2e%2e/b/jobs/overview',
      '/clusters/a%2f..%2fb/jobs/overview',
    ]) {
      const response = await viaCurl(['--path-as-is', `https://127.0.0.1:${port}${path}`])
      expect(response.status, path).toBe(400)
    }
  })
})

describe('a real Flink as a YARN application, found through the RM stand-in', () => {
  const byApp = (appId: string) => `https://127.0.0.1:${port}/proxy/${appId}`

  it('lets the owner `flink run -d` and `curl -F` through /proxy/<applicationId>/', async () => {
    const result = await cli.run(
      ['run', '-d', '-m', byApp(APP_B), b.build.jobJar, '--name', 'fg-on-yarn'],
      env,
    )
    expect(result.code, output(result)).toBe(0)
    expect(await jobsOf(b)).toContain(submittedJobId(result))
    const upload = await viaCurl(['-F', `jarfile=@${b.build.jobJar}`, `${byApp(APP_B)}/jars/upload`])
    expect(upload.status).toBe(200)
    expect(JSON.parse(upload.body)).toMatchObject({ status: 'success' })
    const page = await viaCurl([`${byApp(APP_B)}/`])
    expect(page.body).toContain('<title>Apache Flink Web Dashboard</title>')
  })

  it("refuses an address whose Flink is not that application (a's cluster-id is not APP_FAKE)", async () => {
    const response = await viaCurl(['-D', '-', `${byApp(APP_FAKE)}/overview`])
    expect(response.status).toBe(502)
    expect(response.body).toMatch(/^x-flink-guard-error: FG_ERR_CLUSTER_IDENTITY\r?$/im)
  })
})

describe("Flink's own address in its answers, through the gateway", () => {
  const ZERO_JOB = '0'.repeat(32)
  const field = async (url: string, name: string) => {
    const response = await viaCurl([url])
    expect(response.status, response.body).toBe(200)
    return (JSON.parse(response.body) as Record<string, string>)[name]
  }
  const direct = async (flink: FlinkCluster, path: string) =>
    (await (await request(`${flink.restUrl}${path}`)).body.json()) as Record<string, string>

  it('Flink itself reports its REST base URL in /jars address and the log-url urls', async () => {
    expect((await direct(b, '/jars')).address).toBe(b.restUrl)
    expect((await direct(a, `/jobs/${ZERO_JOB}/jobmanager/log-url`)).url).toBe(
      `${a.restUrl}/#/job-manager/logs`,
    )
    expect((await direct(b, `/jobs/${ZERO_JOB}/taskmanagers/tm-1/log-url`)).url).toBe(
      `${b.restUrl}/#/task-manager/tm-1/logs`,
    )
  })

  it('rebases them onto the cluster prefix', async () => {
    expect(await field(`${byPrefix('b')}/jars`, 'address')).toBe(byPrefix('b'))
    expect(await field(`${byPrefix('a')}/v1/jobs/${ZERO_JOB}/jobmanager/log-url`, 'url')).toBe(
      `${byPrefix('a')}/#/job-manager/logs`,
    )
    expect(await field(`${byPrefix('b')}/jobs/${ZERO_JOB}/taskmanagers/tm-1/log-url`, 'url')).toBe(
      `${byPrefix('b')}/#/task-manager/tm-1/logs`,
    )
  })

  it("rebases them onto the cluster's host name", async () => {
    const byHost = `https://localhost:${port}`
    expect(await field(`${byHost}/jars`, 'address')).toBe(byHost)
    expect(await field(`${byHost}/jobs/${ZERO_JOB}/jobmanager/log-url`, 'url')).toBe(
      `${byHost}/#/job-manager/logs`,
    )
  })

  it('rebases them onto /proxy/<applicationId> for a YARN application', async () => {
    const app = `https://127.0.0.1:${port}/proxy/${APP_B}`
    expect(await field(`${app}/jars`, 'address')).toBe(app)
  })
})

describe('one Flink down', () => {
  it('answers 503 on its routes only; the other cluster, the CLI on it and /readyz carry on', async () => {
    await a.stop()
    const down = await viaCurl([`${byPrefix('a')}/jobs/overview`])
    expect(down.status).toBe(503)
    const list = await cli.run(['list', '-m', byPrefix('b')], env)
    expect(list.code, output(list)).toBe(0)
    expect(list.stdout).toContain('fg-on-b')
    expect((await request(`${gateway.adminUrl}/readyz`)).statusCode).toBe(200)
    expect((await request(`${gateway.adminUrl}/readyz/clusters/a`)).statusCode).toBe(503)
    expect((await request(`${gateway.adminUrl}/readyz/clusters/b`)).statusCode).toBe(200)
  })
})

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return []
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => entry.name)
}
