import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { hashSync } from '@node-rs/bcrypt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Standin, startStandin } from '../../src/standin/server.js'
import { assertBuilt } from '../integration/support/cli.js'
import { eventually } from '../integration/support/eventually.js'
import {
  basic,
  callOnce,
  perWorker,
  type ServeProcess,
  startServe,
  stopServe,
} from '../integration/support/process-group.js'
import { type RedisServer, startRedis } from './support/redis-server.js'

/**
 * Two separate proxy processes (two replicas) that share their brute-force budgets through one real Redis: a
 * lockout earned on one holds on the other, one address gets one failed-request budget across both, and when
 * Redis is killed each follows its redis.failMode (closed: 429; open: its own budgets) and recovers when Redis
 * is back. Every request goes on a connection of its own.
 */

const BURST = 4
const MAX_FAILURES_PER_USER = 3

let standin: Standin
let redis: RedisServer
let closedProxy: ServeProcess
let openProxy: ServeProcess

const config = (failMode: 'closed' | 'open', htpasswd: string) => `listen: { port: 0 }
admin: { port: 0 }
shutdown: { graceMs: 2000 }
upstream: { url: "${standin.url}" }
limits: { failedRequests: { burst: ${BURST}, perMinute: 1 } }
redis: { url: "${redis.url}", failMode: ${failMode}, timeoutMs: 300 }
auth:
  basic:
    htpasswd: "${htpasswd}"
    cacheTtlSec: 0
    users: { alice: [viewers], bob: [viewers], carol: [viewers] }
    throttle: { maxFailuresPerUser: ${MAX_FAILURES_PER_USER} }
authz: { roles: { viewers: viewer } }
`

beforeAll(async () => {
  assertBuilt()
  standin = await startStandin()
  redis = await startRedis()
  const htpasswd = join(mkdtempSync(join(tmpdir(), 'fg-htpasswd-')), 'users.htpasswd')
  writeFileSync(
    htpasswd,
    ['alice', 'bob', 'carol'].map((user) => `${user}:${hashSync('right', 4)}\n`).join(''),
  )
  closedProxy = await startServe(config('closed', htpasswd))
  openProxy = await startServe(config('open', htpasswd))
})
afterAll(async () => {
  await Promise.allSettled([stopServe(closedProxy), stopServe(openProxy)])
  await redis.stop()
  await standin.close()
})

describe('brute-force budgets in Redis, shared by two proxy processes', () => {
  it('a wrong password counted by one proxy locks the login out on the other', async () => {
    for (let i = 0; i < MAX_FAILURES_PER_USER; i += 1) {
      expect(await callOnce(`${closedProxy.proxyUrl}/overview`, basic('alice', 'wrong'), '127.0.0.21')).toBe(
        401,
      )
    }
    // The other proxy never saw alice fail: alone, it would accept her right password.
    expect(await callOnce(`${openProxy.proxyUrl}/overview`, basic('alice', 'right'), '127.0.0.22')).toBe(429)
    expect(await callOnce(`${closedProxy.proxyUrl}/overview`, basic('alice', 'right'), '127.0.0.22')).toBe(
      429,
    )
    expect(await callOnce(`${openProxy.proxyUrl}/overview`, basic('bob', 'right'), '127.0.0.22')).toBe(200)
  })

  it('one address gets one failed-request budget across both proxies', async () => {
    const statuses = []
    for (let i = 0; i < 3 * BURST; i += 1) {
      const proxy = i % 2 === 0 ? closedProxy : openProxy
      statuses.push(await callOnce(`${proxy.proxyUrl}/overview`, undefined, '127.0.0.23'))
    }
    // Alone, each proxy would answer its first BURST with 401: twice BURST in all.
    expect(statuses).toEqual([...Array(BURST).fill(401), ...Array(2 * BURST).fill(429)])
  })

  it('with Redis killed, failMode closed refuses with 429 and failMode open uses its own budgets; neither crashes', async () => {
    await redis.kill()
    await closedProxy.cli.waitFor(/Redis does not answer: failing closed/)
    // The closed proxy cannot check a login, nor count a failure: it refuses both.
    expect(await callOnce(`${closedProxy.proxyUrl}/overview`, basic('bob', 'right'), '127.0.0.24')).toBe(429)
    expect(await callOnce(`${closedProxy.proxyUrl}/overview`, undefined, '127.0.0.24')).toBe(429)
    // The open proxy goes on with its own budgets: the right password passes, a wrong one is a plain 401.
    expect(await callOnce(`${openProxy.proxyUrl}/overview`, basic('bob', 'right'), '127.0.0.24')).toBe(200)
    expect(await callOnce(`${openProxy.proxyUrl}/overview`, basic('bob', 'wrong'), '127.0.0.24')).toBe(401)
    await openProxy.cli.waitFor(/Redis does not answer: failing open/)
    expect(await perWorker(closedProxy.adminUrl, 'flink_guard_shared_store_up')).toEqual({ none: 0 })
    expect(
      (
        await perWorker(closedProxy.adminUrl, 'flink_guard_shared_store_errors_total', {
          fail_mode: 'closed',
        })
      ).none,
    ).toBeGreaterThan(0)
    expect(
      (await perWorker(openProxy.adminUrl, 'flink_guard_shared_store_errors_total', { fail_mode: 'open' }))
        .none,
    ).toBeGreaterThan(0)
    expect(closedProxy.cli.child.exitCode).toBeNull()
    expect(openProxy.cli.child.exitCode).toBeNull()
  })

  it('recovers when Redis is back: the shared budgets apply again', async () => {
    await redis.restart()
    await eventually(
      async () =>
        (await callOnce(`${closedProxy.proxyUrl}/overview`, basic('carol', 'right'), '127.0.0.25')) === 200,
      10_000,
    )
    await closedProxy.cli.waitFor(/Redis answers again/)
    expect(await perWorker(closedProxy.adminUrl, 'flink_guard_shared_store_up')).toEqual({ none: 1 })
    for (let i = 0; i < MAX_FAILURES_PER_USER; i += 1) {
      expect(await callOnce(`${openProxy.proxyUrl}/overview`, basic('carol', 'wrong'), '127.0.0.26')).toBe(
        401,
      )
    }
    expect(await callOnce(`${closedProxy.proxyUrl}/overview`, basic('carol', 'right'), '127.0.0.27')).toBe(
      429,
    )
  })
})
