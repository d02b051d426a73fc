import { createHash } from 'node:crypto'
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually } from '../integration/support/eventually.js'
import { startProxy } from '../integration/support/proxy.js'
import {
  curl,
  fingerprintsOf,
  fixture,
  KEYSTORE_PASSWORD,
  TRUSTSTORE_PASSWORD,
} from '../integration/support/tls-client.js'
import { jobState as stateInFlink, waitForJobState } from './support/endless-job.js'
import { type FlinkCli, type FlinkCliResult, flinkCli } from './support/flink-cli.js'
import { type GuardedFlink, startGuardedFlink } from './support/guarded-flink.js'

/**
 * Every preset through flink-guard to a real Flink, driven by Flink's own CLI and by curl as the dashboard
 * uploads: TLS on both hops, Flink pinning flink-guard's client certificate, and the CLI authenticated with
 * basic (viewer), bearer JWT (operator, admin) and its own client keystore pinning flink-guard's certificate
 * (deployer). Every refusal is checked where the user sees it (the CLI's exit code and output) and where it
 * matters (the job in Flink untouched).
 */

const REFUSED = 'Your preset does not allow this Flink action'
/** flink-guard's refusal as Flink's client reads an error: `errors` the only field, our message first. */
const refusal = { errors: [expect.stringMatching(/^Your preset does not allow this Flink action: /)] }

let guarded: GuardedFlink
/** `-m` as users write it: https, the certificate's name, and a trailing slash (the CLI then sends `//v1/...`). */
let target: string
let viewerCli: FlinkCli
let operatorCli: FlinkCli
let deployerCli: FlinkCli
let viewerEnv: NodeJS.ProcessEnv
let operatorEnv: NodeJS.ProcessEnv
const jobs: Record<'a' | 'b' | 'c', string> = { a: '', b: '', c: '' }

/** The CLI's TLS to flink-guard: the test CA as truststore (Flink's security.ssl.rest.* client keys). */
const CLI_TLS = {
  'security.ssl.rest.enabled': true,
  'security.ssl.rest.truststore': fixture('ca.truststore'),
  'security.ssl.rest.truststore-password': TRUSTSTORE_PASSWORD,
}

/** A CLI with a client keystore (CN=flink-cli, OU=deployers) that pins flink-guard's certificate by SHA-1. */
function keystoreCli(pinnedProxy: string): FlinkCli {
  return flinkCli(guarded.flink.build, {
    ...CLI_TLS,
    'security.ssl.rest.authentication-enabled': true,
    'security.ssl.rest.keystore': fixture('client.keystore'),
    'security.ssl.rest.keystore-password': KEYSTORE_PASSWORD,
    'security.ssl.rest.key-password': KEYSTORE_PASSWORD,
    'security.ssl.rest.cert.fingerprint': pinnedProxy,
  })
}

const headersEnv = (authorization: string) => ({
  FLINK_REST_CLIENT_HEADERS: `Authorization:${authorization}`,
})
const output = (result: FlinkCliResult) => `${result.stdout}\n${result.stderr}`

/** What Flink itself says of a job, over the pinned client certificate. */
const jobState = (jobId: string) => stateInFlink(guarded.flink, jobId, guarded.direct)
const untilState = (jobId: string, state: string) =>
  waitForJobState(guarded.flink, jobId, state, { dispatcher: guarded.direct })

/** A request to flink-guard with a credential; the JSON body, status and error-code header. */
async function viaProxy(
  path: string,
  authorization: string,
  init: { method?: string; body?: unknown } = {},
): Promise<{ status: number; body: unknown; code: string | undefined }> {
  const response = await request(`${guarded.proxyUrl}${path}`, {
    method: (init.method ?? 'GET') as 'GET',
    dispatcher: guarded.client,
    headers: {
      authorization,
      ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  })
  const text = await response.body.text()
  const code = response.headers['x-flink-guard-error']
  return {
    status: response.statusCode,
    body: text.startsWith('{') || text.startsWith('[') ? JSON.parse(text) : text,
    code: typeof code === 'string' ? code : undefined,
  }
}

/** curl to flink-guard trusting the test CA; `credential` is an Authorization header or `--cert` arguments. */
function curlProxy(credential: string | readonly string[], args: readonly string[]) {
  const auth = typeof credential === 'string' ? ['-H', `Authorization: ${credential}`] : credential
  return curl(['--cacert', fixture('ca.pem'), ...auth, ...args])
}

/** `curl -F jarfile=@job.jar` as Flink's docs and the dashboard upload. */
function curlUpload(credential: string | readonly string[]) {
  return curlProxy(credential, [
    '-F',
    `jarfile=@${guarded.flink.build.jobJar}`,
    `${guarded.proxyUrl}/jars/upload`,
  ])
}

/** The deployer's credential on curl: its client certificate. */
const DEPLOYER_CERT = ['--cert', fixture('client.pem')]

function submittedJobId(result: FlinkCliResult): string {
  const id = /Job has been submitted with JobID ([0-9a-f]{32})/.exec(result.stdout)?.[1]
  if (id === undefined) throw new Error(`no job id in the CLI's output:\n${output(result)}`)
  return id
}

beforeAll(async () => {
  guarded = await startGuardedFlink()
  target = `${guarded.proxyUrl}/`
  viewerCli = flinkCli(guarded.flink.build, CLI_TLS)
  operatorCli = viewerCli
  deployerCli = keystoreCli(fingerprintsOf('rest.signed').sha1)
  viewerEnv = headersEnv(guarded.basic('vera'))
  operatorEnv = headersEnv(await guarded.bearer(['flink-operators'], 'olga'))
})
afterAll(async () => {
  await guarded?.close()
})

describe('deployer (client keystore, pinning flink-guard)', () => {
  it('runs the real job with `flink run -d` through the proxy (the multipart POST /jobs)', async () => {
    for (const name of ['a', 'b'] as const) {
      const result = await deployerCli.run([
        'run',
        '-m',
        target,
        '-d',
        guarded.flink.build.jobJar,
        '--name',
        `fg-${name}`,
      ])
      expect(result.code, output(result)).toBe(0)
      jobs[name] = submittedJobId(result)
    }
    await untilState(jobs.a, 'RUNNING')
    await untilState(jobs.b, 'RUNNING')
  })

  it('uploads the jar as the dashboard does (curl -F), Flink stores the same bytes, and runs it', async () => {
    const uploaded = await curlUpload(DEPLOYER_CERT)
    expect(uploaded.code, uploaded.stderr).toBe(0)
    const answer = JSON.parse(uploaded.stdout) as { status: string; filename: string }
    expect(answer.status).toBe('success')
    const jarId = answer.filename.split('/').at(-1)!
    expect(jarId).toMatch(/_flink-it\.jar$/)
    const stored = findFile(guarded.flink.uploadDir, jarId)
    expect(sha256(stored)).toBe(sha256(guarded.flink.build.jobJar))
    expect(statSync(stored).size).toBe(statSync(guarded.flink.build.jobJar).size)

    const run = await curlProxy(DEPLOYER_CERT, [
      '-H',
      'Content-Type: application/json',
      '-d',
      JSON.stringify({ programArgsList: ['--name', 'fg-c'] }),
      `${guarded.proxyUrl}/jars/${jarId}/run`,
    ])
    expect(run.code, run.stderr).toBe(0)
    jobs.c = (JSON.parse(run.stdout) as { jobid: string }).jobid
    await untilState(jobs.c, 'RUNNING')
  })

  it('a CLI pinning another certificate than flink-guard’s refuses to talk to it', async () => {
    const wrongPin = keystoreCli(fingerprintsOf('client').sha1)
    const result = await wrongPin.run(['list', '-m', target])
    expect(result.code).not.toBe(0)
    expect(output(result)).toContain('server certificate with unknown fingerprint')
    expect(result.stdout).not.toContain(jobs.a)
  })
})

describe('viewer (basic)', () => {
  it('`flink list -m https://localhost:<port>/` lists the running jobs', async () => {
    const result = await viewerCli.run(['list', '-m', target], viewerEnv)
    expect(result.code, output(result)).toBe(0)
    expect(result.stdout).toContain(`${jobs.a} : fg-a (RUNNING)`)
    expect(result.stdout).toContain(`${jobs.c} : fg-c (RUNNING)`)
  })

  it('reads overview, job list, job detail, checkpoints and metrics', async () => {
    const auth = guarded.basic('vera')
    const overview = await viaProxy('/overview', auth)
    expect(overview.status).toBe(200)
    expect(overview.body).toMatchObject({ taskmanagers: 1, 'jobs-running': 3 })
    const list = await viaProxy('/jobs/overview', auth)
    expect((list.body as { jobs: { jid: string }[] }).jobs.map((job) => job.jid)).toContain(jobs.a)
    const detail = await viaProxy(`/jobs/${jobs.a}`, auth)
    expect(detail.body).toMatchObject({ jid: jobs.a, name: 'fg-a', state: 'RUNNING' })
    const checkpoints = await viaProxy(`/jobs/${jobs.a}/checkpoints`, auth)
    expect(checkpoints.status).toBe(200)
    expect(checkpoints.body).toHaveProperty('counts')
    const metrics = await viaProxy('/jobmanager/metrics?get=numRunningJobs', auth)
    // The metric fetcher samples every 10 s: the value lags, its presence and shape do not.
    expect(metrics.body).toEqual([{ id: 'numRunningJobs', value: expect.stringMatching(/^\d+$/) }])
    const jobMetrics = await viaProxy(`/jobs/${jobs.a}/metrics`, auth)
    expect(jobMetrics.body).toEqual(expect.arrayContaining([{ id: 'uptime' }]))
  })

  it('`flink cancel` fails with flink-guard’s message, and the job keeps running', async () => {
    const result = await viewerCli.run(['cancel', '-m', target, jobs.a], viewerEnv)
    expect(result.code).not.toBe(0)
    expect(output(result)).toContain(REFUSED)
    expect(output(result)).not.toContain('Cancelled job')
    expect(await jobState(jobs.a)).toBe('RUNNING')
  })

  it('`flink savepoint`, `flink stop` and `flink run` fail with flink-guard’s message', async () => {
    const jar = guarded.flink.build.jobJar
    for (const args of [
      ['savepoint', '-m', target, jobs.a, `file://${guarded.flink.savepointDir}`],
      ['stop', '-m', target, '--savepointPath', `file://${guarded.flink.savepointDir}`, jobs.a],
      ['run', '-m', target, '-d', jar, '--name', 'fg-viewer'],
    ]) {
      const result = await viewerCli.run(args, viewerEnv)
      expect(result.code, args[0]).not.toBe(0)
      expect(output(result), args[0]).toContain(REFUSED)
    }
    expect(await jobState(jobs.a)).toBe('RUNNING')
    expect(readdirSync(guarded.flink.savepointDir)).toEqual([])
    const running = await guarded.flinkJson<{ jobs: { name: string }[] }>('/jobs/overview')
    expect(running.jobs.map((job) => job.name)).not.toContain('fg-viewer')
  })

  it('is refused upload, shutdown, the JobManager config and logs, in the error shape Flink’s client reads', async () => {
    const auth = guarded.basic('vera')
    for (const [method, path] of [
      ['DELETE', '/cluster'],
      ['GET', '/jobmanager/config'],
      ['GET', '/jobmanager/logs'],
      ['GET', '/jobmanager/log'],
      ['POST', '/jars/upload'],
      ['PATCH', `/jobs/${jobs.a}`],
    ] as const) {
      const answer = await viaProxy(path, auth, { method })
      expect(answer.status, `${method} ${path}`).toBe(403)
      expect(answer.body, `${method} ${path}`).toEqual(refusal)
      expect(answer.code).toBe('FG_ERR_AUTHZ_PRESET_INSUFFICIENT')
    }
    const upload = await curlUpload(auth)
    expect(JSON.parse(upload.stdout)).toEqual(refusal)
    expect((await guarded.flinkJson<{ files: unknown[] }>('/jars')).files).toHaveLength(1)
    expect(await jobState(jobs.a)).toBe('RUNNING')
  })
})

describe('operator (bearer JWT)', () => {
  it('`flink savepoint` completes and the savepoint is on disk', async () => {
    const result = await operatorCli.run(
      ['savepoint', '-m', target, jobs.a, `file://${guarded.flink.savepointDir}`],
      operatorEnv,
    )
    expect(result.code, output(result)).toBe(0)
    const path = /Savepoint completed\. Path: file:(\S+)/.exec(result.stdout)?.[1]
    expect(path, output(result)).toBeDefined()
    expect(existsSync(join(path!, '_metadata'))).toBe(true)
  })

  it('triggers a savepoint over REST and polls the trigger to COMPLETED', async () => {
    const auth = await guarded.bearer(['flink-operators'])
    const trigger = await viaProxy(`/jobs/${jobs.a}/savepoints`, auth, {
      method: 'POST',
      body: { 'target-directory': `file://${guarded.flink.savepointDir}`, 'cancel-job': false },
    })
    expect(trigger.status).toBe(202)
    const requestId = (trigger.body as { 'request-id': string })['request-id']
    let answer: { status: { id: string }; operation?: { location?: string } } | undefined
    await eventually(async () => {
      answer = (await viaProxy(`/jobs/${jobs.a}/savepoints/${requestId}`, auth)).body as typeof answer
      return answer?.status.id === 'COMPLETED'
    }, 60_000)
    const location = answer?.operation?.location ?? ''
    expect(existsSync(join(location.replace(/^file:/, ''), '_metadata'))).toBe(true)
  })

  it('`flink stop` stops a running job with a savepoint', async () => {
    const result = await operatorCli.run(
      ['stop', '-m', target, '--savepointPath', `file://${guarded.flink.savepointDir}`, jobs.b],
      operatorEnv,
    )
    expect(result.code, output(result)).toBe(0)
    expect(result.stdout).toContain('Savepoint completed. Path: file:')
    await untilState(jobs.b, 'FINISHED')
  })

  it('`flink cancel` cancels a running job', async () => {
    const result = await operatorCli.run(['cancel', '-m', target, jobs.c], operatorEnv)
    expect(result.code, output(result)).toBe(0)
    expect(result.stdout).toContain(`Cancelled job ${jobs.c}`)
    await untilState(jobs.c, 'CANCELED')
  })

  it('is refused an upload', async () => {
    const upload = await curlUpload(await guarded.bearer(['flink-operators']))
    expect(JSON.parse(upload.stdout)).toEqual(refusal)
  })
})

describe('flink-guard’s own certificate to Flink', () => {
  it.each([
    ['a CA-signed certificate Flink does not pin', { keystore: fixture('client.keystore') }],
    ['no certificate', {}],
  ])(
    'with %s, Flink’s TLS refuses the proxy, which says so (FG_ERR_UPSTREAM_CLIENT_CERT)',
    async (_, tls) => {
      const proxy = await startProxy(guarded.flink.restUrl, {
        upstream: {
          tls: { truststore: fixture('ca.pem'), keystorePassword: KEYSTORE_PASSWORD, ...tls },
        },
      })
      try {
        const response = await request(`${proxy.proxyUrl}/overview`)
        const body = await response.body.json()
        expect(response.statusCode).toBe(502)
        expect(response.headers['x-flink-guard-error']).toBe('FG_ERR_UPSTREAM_CLIENT_CERT')
        expect(body).toEqual({ errors: [expect.stringContaining('refused flink-guard')] })
        const logged = proxy.logs.find((line) => line.code === 'FG_ERR_UPSTREAM_CLIENT_CERT')
        expect(String(logged?.reason)).toMatch(/ALERT/)
      } finally {
        await proxy.close(1_000)
      }
    },
  )
})

describe('admin (bearer JWT)', () => {
  it('reads the JobManager config and its logs', async () => {
    const auth = await guarded.bearer(['flink-admins'])
    const config = await viaProxy('/jobmanager/config', auth)
    expect(config.status).toBe(200)
    const keys = (config.body as { key: string }[]).map((entry) => entry.key)
    expect(keys).toContain('rest.port')
    const logs = await viaProxy('/jobmanager/logs', auth)
    expect((logs.body as { logs: { name: string }[] }).logs.map((log) => log.name)).toContain(
      'flink-jobmanager.log',
    )
    const log = await viaProxy('/jobmanager/log', auth)
    expect(String(log.body)).toContain('Rest endpoint listening at')
  })

  it('shuts the cluster down (DELETE /cluster), and the JobManager exits', async () => {
    const answer = await viaProxy('/cluster', await guarded.bearer(['flink-admins']), { method: 'DELETE' })
    expect(answer.status).toBe(200)
    const exit = await Promise.race([
      guarded.flink.jobManagerExited.then(() => 'exited'),
      new Promise((resolve) => setTimeout(() => resolve('still running'), 60_000)),
    ])
    expect(exit).toBe('exited')
  })
})

function sha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex')
}

/** The file named `name` anywhere under `dir` (Flink stores uploads under flink-web-<uuid>/flink-web-upload). */
function findFile(dir: string, name: string): string {
  const found = readdirSync(dir, { recursive: true, encoding: 'utf8' }).find((path) =>
    path.endsWith(`/${name}`),
  )
  if (found === undefined) throw new Error(`${name} is not under ${dir}`)
  return join(dir, found)
}
