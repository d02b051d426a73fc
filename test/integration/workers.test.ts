import { writeFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Standin, startStandin } from '../../src/standin/server.js'
import { assertBuilt, runCli, writeConfig } from './support/cli.js'
import { eventually } from './support/eventually.js'
import {
  basic,
  callOnce,
  htpasswdWithAlice,
  perWorker,
  type ServeProcess,
  startServe,
  stopServe,
  workersCounting,
} from './support/process-group.js'
import { reconnect } from './support/reconnect.js'
import { fixture, KEYSTORE_PASSWORD } from './support/tls-client.js'

/**
 * `workers: 2` as users run it: the built CLI forks two workers that share the listener, and every request
 * goes on a connection of its own (as Flink's RestClient sends them), so node:cluster hands them out to both.
 */

const BURST = 4
const MAX_FAILURES_PER_USER = 3

let standin: Standin
let htpasswd: string

const groupConfig = (extra = '') => `workers: 2
listen: { port: 0 }
admin: { port: 0 }
shutdown: { graceMs: 2000 }
upstream: { url: "${standin.url}" }
limits: { failedRequests: { burst: ${BURST}, perMinute: 1 } }
auth:
  basic: { htpasswd: "${htpasswd}", users: { alice: [viewers] }, throttle: { maxFailuresPerUser: ${MAX_FAILURES_PER_USER} } }
authz: { roles: { viewers: viewer } }
${extra}`

beforeAll(async () => {
  assertBuilt()
  standin = await startStandin()
  htpasswd = htpasswdWithAlice()
})
afterAll(async () => {
  await standin.close()
})

describe('workers: 2', () => {
  let group: ServeProcess
  beforeAll(async () => {
    group = await startServe(groupConfig())
  })
  afterAll(async () => {
    await stopServe(group)
  })

  it('one scrape of the admin listener reports the requests of both workers, summing to what was sent', async () => {
    const sent = 20
    for (let i = 0; i < sent; i += 1)
      expect(await callOnce(`${group.proxyUrl}/overview`, basic('alice', 'right'))).toBe(200)
    const served = await perWorker(group.adminUrl, 'flink_guard_requests_total', {
      route: '/overview',
      status: '200',
    })
    expect(Object.keys(served).sort()).toEqual(['1', '2'])
    expect(served['1']).toBeGreaterThan(0)
    expect(served['2']).toBeGreaterThan(0)
    expect(served['1']! + served['2']!).toBe(sent)
    expect(await perWorker(group.adminUrl, 'flink_guard_workers')).toEqual({ none: 2 })
  })

  it('is ready only as a whole: /readyz carries every worker', async () => {
    const response = await fetch(`${group.adminUrl}/readyz`)
    expect(response.status).toBe(200)
    const body = (await response.json()) as { workers: Record<string, { status: string }> }
    expect(Object.keys(body.workers)).toEqual(['1', '2'])
    expect(body.workers['1']!.status).toBe('ready')
    expect(body.workers['2']!.status).toBe('ready')
  })

  it('a wrong password counted in one worker locks the login out in the other', async () => {
    const url = `${group.proxyUrl}/overview`
    for (let i = 0; i < MAX_FAILURES_PER_USER; i += 1)
      expect(await callOnce(url, basic('alice', 'wrong'))).toBe(401)
    // Each worker would still accept the right password if it counted alone (it saw fewer than the limit).
    const afterLockout = []
    for (let i = 0; i < 6; i += 1) afterLockout.push(await callOnce(url, basic('alice', 'right')))
    expect(afterLockout).toEqual(Array(6).fill(429))
    expect(
      await workersCounting(group.adminUrl, 'flink_guard_auth_failures_total', { reason: 'throttled' }),
    ).toEqual(['1', '2'])
  })

  it('two workers do not give an address twice the failed-request budget', async () => {
    const statuses = []
    for (let i = 0; i < 3 * BURST; i += 1)
      statuses.push(await callOnce(`${group.proxyUrl}/overview`, undefined, '127.0.0.7'))
    // Alone, each worker would answer its first BURST with 401: up to twice BURST in all.
    expect(statuses).toEqual([...Array(BURST).fill(401), ...Array(2 * BURST).fill(429)])
    expect(await workersCounting(group.adminUrl, 'flink_guard_rate_limited_total')).toEqual(['1', '2'])
  })
})

describe('the process group', () => {
  it('replaces a killed worker and counts it; /readyz is ready again once it listens', async () => {
    const group = await startServe(groupConfig())
    try {
      const [victim] = group.pids
      process.kill(victim!, 'SIGKILL')
      await group.cli.waitFor(/"msg":"a worker died: starting a new one"/)
      await eventually(
        async () => (await perWorker(group.adminUrl, 'flink_guard_workers')).none === 2,
        10_000,
      )
      expect(await perWorker(group.adminUrl, 'flink_guard_workers_replaced_total')).toEqual({ none: 1 })
      expect((await fetch(`${group.adminUrl}/readyz`)).status).toBe(200)
      for (let i = 0; i < 4; i += 1) {
        expect(await callOnce(`${group.proxyUrl}/overview`, basic('alice', 'right'))).toBe(200)
      }
    } finally {
      await stopServe(group)
    }
  })

  it('stops, exit 1, when workers keep dying (the crash-loop bound)', async () => {
    const group = await startServe(groupConfig())
    try {
      // Bounded: the bound is 5 replacements a minute, so the 6th death within it ends the group.
      for (let deaths = 0; deaths < 6 && group.cli.child.exitCode === null; deaths += 1) {
        const pid = Number([...group.cli.stdout().matchAll(WORKER_1_STARTED)].at(-1)?.[1])
        process.kill(pid, 'SIGKILL')
        if (deaths < 5) {
          await eventually(() => countMatches(group.cli.stdout(), WORKER_1_STARTED) === deaths + 2, 10_000)
        }
      }
      const finished = await group.cli.finished
      expect(finished.code).toBe(1)
      expect(finished.stdout).toContain('workers keep dying: stopping the process group')
    } finally {
      await stopServe(group)
    }
  })

  it('passes SIGHUP to every worker: a reloaded config applies in both', async () => {
    const group = await startServe(groupConfig())
    try {
      expect(await callOnce(`${group.proxyUrl}/overview`)).toBe(401)
      writeFileSync(
        group.file,
        groupConfig().replace('auth:\n', 'auth:\n  anonymous: { roles: [viewers] }\n'),
      )
      group.cli.child.kill('SIGHUP')
      await eventually(
        () => countMatches(group.cli.stdout(), /"msg":"config reloaded: new requests use it"/) === 2,
        10_000,
      )
      const statuses = []
      for (let i = 0; i < 6; i += 1)
        statuses.push(await callOnce(`${group.proxyUrl}/overview`, undefined, '127.0.0.9'))
      expect(statuses).toEqual(Array(6).fill(200))
    } finally {
      await stopServe(group)
    }
  })

  it('drains every worker on SIGTERM and exits 0', async () => {
    const group = await startServe(groupConfig())
    standin.responseDelayMs = 800
    try {
      const inFlight = [0, 1, 2, 3].map(() => callOnce(`${group.proxyUrl}/overview`, basic('alice', 'right')))
      await new Promise((resolve) => setTimeout(resolve, 300))
      group.cli.child.kill('SIGTERM')
      expect(await Promise.all(inFlight)).toEqual([200, 200, 200, 200])
      const finished = await group.cli.finished
      expect(finished.code).toBe(0)
      expect(countMatches(finished.stdout, /"worker":\d,"drained":true,"msg":"stopped"/)).toBe(2)
      expect(finished.stdout).toMatch(/"drained":true,"msg":"stopped"}\n$/)
    } finally {
      standin.responseDelayMs = 0
      await stopServe(group)
    }
  })

  it.each(['TLSv1.3', 'TLSv1.2'] as const)(
    'resumes %s on every reconnect, whichever worker takes it: one ticket key ring for the group',
    async (version) => {
      const tls = `tls: { keystore: "${fixture('rest.signed.keystore')}", keystorePassword: ${KEYSTORE_PASSWORD} }\n`
      const group = await startServe(
        groupConfig(tls).replace('auth:\n', 'auth:\n  anonymous: { roles: [viewers] }\n'),
      )
      try {
        const port = Number(new URL(group.proxyUrl).port)
        const connections = await reconnect(port, version, 8)
        expect(connections.map((connection) => connection.status)).toEqual(Array(8).fill('HTTP/1.1 200'))
        expect(connections.map((connection) => connection.reused)).toEqual([false, ...Array(7).fill(true)])
        // node:cluster handed the connections to both workers, and each resumed what the other had sealed.
        const resumed = await perWorker(group.adminUrl, 'flink_guard_tls_handshakes_total', {
          resumed: 'true',
        })
        expect(Object.values(resumed).filter((count) => count > 0)).toHaveLength(2)
      } finally {
        await stopServe(group)
      }
    },
  )

  it('refuses a worker count that is not a positive number or auto', async () => {
    for (const value of ['0', '-1', '1.5', 'many']) {
      const result = await runCli([
        'check-config',
        '--config',
        writeConfig(
          `workers: ${value}\nauth: { anonymous: {} }\nupstream: { url: "http://127.0.0.1:8081" }\n`,
        ),
      ])
      expect(result.code).toBe(2)
      expect(result.stderr).toContain('"workers"')
    }
    const auto = await runCli([
      'check-config',
      '--config',
      writeConfig('workers: auto\nauth: { anonymous: {} }\nupstream: { url: "http://127.0.0.1:8081" }\n'),
    ])
    expect(auto.code).toBe(0)
  })
})

const WORKER_1_STARTED = /"pid":(\d+),"hostname":"[^"]*","worker":1,[^\n]*"msg":"worker started"/g

function countMatches(text: string, pattern: RegExp): number {
  return [...text.matchAll(new RegExp(pattern.source, 'g'))].length
}
