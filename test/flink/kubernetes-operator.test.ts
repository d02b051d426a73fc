import { existsSync, readdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually } from '../integration/support/eventually.js'
import { fixture, KEYSTORE_PASSWORD } from '../integration/support/tls-client.js'
import { type FlinkCliResult, runJava } from './support/flink-cli.js'
import { type GuardedFlink, startGuardedFlink } from './support/guarded-flink.js'

/**
 * The Flink Kubernetes Operator as a client of flink-guard, against a real Flink: flinkguard.it.OperatorCalls
 * makes the operator's REST calls (release-1.15.0) with Flink's own RestClusterClient and RestClient, configured
 * as the operator configures them (security.ssl.rest.enabled and authentication-enabled from the deployment,
 * truststore and keystore from OPERATOR_TRUSTSTORE_PATH / OPERATOR_KEYSTORE_PATH / OPERATOR_KEYSTORE_PASSWORD).
 * Its certificate (CN=flink-cli, OUs ignored) carries one role mapped to the kubernetes-operator profile and no
 * preset, so every call that gets through is the profile's doing.
 */

const PROFILE_REFUSAL = 'This Flink action is not one of the calls your client profile allows'
const RUN_TIMEOUT_MS = 300_000

let guarded: GuardedFlink
let port: number
let full: Map<string, Outcome>
let fullRun: FlinkCliResult

interface Outcome {
  readonly ok: boolean
  readonly detail: string
}

/** The operator's environment: the truststore and the keystore share OPERATOR_KEYSTORE_PASSWORD. */
const OPERATOR_ENV = {
  OPERATOR_TRUSTSTORE_PATH: fixture('ca.operator.truststore'),
  OPERATOR_KEYSTORE_PATH: fixture('client.keystore'),
  OPERATOR_KEYSTORE_PASSWORD: KEYSTORE_PASSWORD,
}

async function operatorCalls(mode: 'full' | 'headers', env: NodeJS.ProcessEnv) {
  const savepointDir = `file://${guarded.flink.savepointDir}`
  const result = await runJava(
    guarded.flink.build,
    'flinkguard.it.OperatorCalls',
    // The operator's address form: the <name>-rest Service's host and rest.port (the proxy's certificate names localhost).
    ['localhost', String(port), guarded.flink.build.jobJar, savepointDir, mode],
    env,
    RUN_TIMEOUT_MS,
  )
  const calls = new Map<string, Outcome>()
  for (const line of result.stdout.split('\n')) {
    const match = /^CALL (\S+) (ok|failed) ?(.*)$/.exec(line)
    if (match !== null) calls.set(match[1]!, { ok: match[2] === 'ok', detail: match[3]! })
  }
  return { result, calls }
}

const pathOf = (location: string) =>
  fileURLToPath(location.startsWith('file:') ? location : `file://${location}`)

function jarsIn(dir: string): string[] {
  if (!existsSync(dir)) return []
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((name) => name.endsWith('.jar'))
}

beforeAll(async () => {
  guarded = await startGuardedFlink({
    // In-place rescaling (PUT resource-requirements) needs the adaptive scheduler, as the operator checks.
    flinkConfig: { 'jobmanager.scheduler': 'adaptive' },
    mtls: { ouAsRoles: false, roles: { 'flink-cli': ['flink-operator'] } },
    profiles: { 'flink-operator': 'kubernetes-operator' },
  })
  port = Number(new URL(guarded.proxyUrl).port)
  const run = await operatorCalls('full', OPERATOR_ENV)
  fullRun = run.result
  full = run.calls
}, RUN_TIMEOUT_MS + 60_000)
afterAll(async () => {
  await guarded?.close()
})

const explain = () => `${fullRun.stdout}\n${fullRun.stderr.slice(-4_000)}`

describe('the operator (RestClusterClient with its client certificate) through flink-guard', () => {
  it.each([
    'jar-upload',
    'jar-run',
    'jar-delete',
    'config',
    'jobs-overview',
    'taskmanagers',
    'job-details',
    'exceptions',
    'job-metrics',
    'subtask-metrics',
    'jobmanager-metrics',
    'taskmanager-metrics',
    'resource-requirements-get',
    'resource-requirements-put',
    'checkpoint-trigger',
    'checkpoint-status',
    'checkpoint-stats',
    'checkpoint-details',
    'savepoint-trigger',
    'savepoint-status',
    'savepoint-disposal',
    'stop-with-savepoint',
    'cancel',
    'job-result',
  ])('%s succeeds', (name) => {
    expect(full.get(name), explain()).toMatchObject({ ok: true })
  })

  it.each(['cluster-shutdown', 'jobmanager-logs', 'jobmanager-config'])(
    '%s is refused, and the client reports it as a failed call with our reason',
    (name) => {
      const outcome = full.get(name)
      expect(outcome, explain()).toMatchObject({ ok: false })
      // RestClient turned the `{"errors": [...]}` body into a RestClientException carrying the message.
      expect(outcome!.detail).toMatch(/^RestClientException: /)
      expect(outcome!.detail).toContain(PROFILE_REFUSAL)
    },
  )

  it('Flink did what the calls asked: jobs submitted, rescaled in place, stopped with a savepoint, cancelled', async () => {
    const overview = await guarded.flinkJson<{ jobs: { jid: string; name: string; state: string }[] }>(
      '/jobs/overview',
    )
    const byName = new Map(overview.jobs.map((job) => [job.name, job]))
    expect(byName.get('fg-op-a')?.state).toBe('FINISHED')
    await eventually(async () => {
      const jobs = await guarded.flinkJson<{ jobs: { name: string; state: string }[] }>('/jobs/overview')
      return jobs.jobs.find((job) => job.name === 'fg-op-b')?.state === 'CANCELED'
    }, 30_000)
    expect(full.get('job-result')?.detail).toBe('SUCCEEDED')
    // The autoscaler's PUT raised the upper bound from the job's parallelism 1, and Flink kept it.
    expect(full.get('resource-requirements-get')?.detail).toBe('1 vertices')
    expect(full.get('resource-requirements-put')?.detail).toBe('upperBound=2')
    // The stop-with-savepoint's savepoint exists; the one the operator disposed of is gone.
    expect(existsSync(pathOf(full.get('stop-with-savepoint')!.detail))).toBe(true)
    const disposed = pathOf(full.get('savepoint-status')!.detail)
    await eventually(async () => !existsSync(disposed), 30_000)
    // runJar deletes the jar it ran: none is left in Flink's upload directory.
    expect(jarsIn(guarded.flink.uploadDir)).toEqual([])
  })

  it('the cluster is still up after the refused DELETE /cluster', async () => {
    const overview = await guarded.flinkJson<{ taskmanagers: number }>('/overview')
    expect(overview.taskmanagers).toBe(1)
  })

  it('audits the operator by its profile, allowed and denied', () => {
    const audits = guarded.proxy.logs
      .map((line) => line.audit as Record<string, unknown> | undefined)
      .filter((audit) => audit !== undefined)
    expect(audits).toContainEqual(
      expect.objectContaining({
        subject: 'flink-cli',
        action: 'POST /jobs/:jobid/stop',
        allowed: true,
        preset: null,
        profile: 'kubernetes-operator',
      }),
    )
    expect(audits).toContainEqual(
      expect.objectContaining({
        subject: 'flink-cli',
        action: 'DELETE /cluster',
        allowed: false,
        denial: 'FG_ERR_AUTHZ_PROFILE_DENIED',
        status: 403,
      }),
    )
  })
})

describe('FLINK_REST_CLIENT_HEADERS instead of a certificate', () => {
  it('reaches the RestClusterClient calls but not the session-job jar upload (a bare RestClient)', async () => {
    const token = await guarded.bearer(['flink-operator'], 'flink-operator')
    const { result, calls } = await operatorCalls('headers', {
      OPERATOR_TRUSTSTORE_PATH: fixture('ca.operator.truststore'),
      OPERATOR_KEYSTORE_PASSWORD: KEYSTORE_PASSWORD,
      FLINK_REST_CLIENT_HEADERS: `Authorization:${token}`,
    })
    const why = `${result.stdout}\n${result.stderr.slice(-2_000)}`
    expect(calls.get('config'), why).toMatchObject({ ok: true })
    expect(calls.get('jar-upload'), why).toMatchObject({ ok: false })
    expect(calls.get('jar-upload')!.detail).toContain('Authentication is required')
  })
})
