import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Standin, startStandin } from '../../src/standin/server.js'
import { assertBuilt } from '../integration/support/cli.js'
import {
  basic,
  callOnce,
  htpasswdWithAlice,
  type ServeProcess,
  startServe,
  stopServe,
  workersCounting,
} from '../integration/support/process-group.js'
import { type RedisServer, startRedis } from './support/redis-server.js'

/**
 * Redis and workers together: two replicas of `workers: 2` each, four processes serving, one real Redis. With
 * `redis.url` set every worker checks in Redis itself (not through its primary), so the budgets are one across
 * all four: a lockout earned on one replica's workers holds in both workers of the other, and one address gets
 * one failed-request budget. Every request goes on a connection of its own, so the primaries' round-robin
 * spreads them over both workers.
 */

const BURST = 4
const MAX_FAILURES_PER_USER = 3

let standin: Standin
let redis: RedisServer
let replicas: ServeProcess[] = []

const config = (htpasswd: string) => `listen: { port: 0 }
admin: { port: 0 }
workers: 2
shutdown: { graceMs: 2000 }
upstream: { url: "${standin.url}" }
limits: { failedRequests: { burst: ${BURST}, perMinute: 1 } }
redis: { url: "${redis.url}", timeoutMs: 300 }
auth:
  basic:
    htpasswd: "${htpasswd}"
    cacheTtlSec: 0
    users: { alice: [viewers] }
    throttle: { maxFailuresPerUser: ${MAX_FAILURES_PER_USER} }
authz: { roles: { viewers: viewer } }
`

beforeAll(async () => {
  assertBuilt()
  standin = await startStandin()
  redis = await startRedis()
  const htpasswd = htpasswdWithAlice()
  replicas = await Promise.all([startServe(config(htpasswd)), startServe(config(htpasswd))])
  for (const replica of replicas) expect(replica.pids).toHaveLength(2)
})
afterAll(async () => {
  await Promise.allSettled(replicas.map(stopServe))
  await redis.stop()
  await standin.close()
})

describe('two replicas of two workers each, one Redis', () => {
  it('wrong passwords sent to one replica lock the login out in both workers of the other', async () => {
    const [first, second] = replicas as [ServeProcess, ServeProcess]
    for (let i = 0; i < MAX_FAILURES_PER_USER; i += 1)
      expect(await callOnce(`${first.proxyUrl}/overview`, basic('alice', 'wrong'), '127.0.0.31')).toBe(401)
    // Alone, each of the four workers saw at most two failures and would accept the right password.
    const afterLockout = []
    for (let i = 0; i < 6; i += 1)
      afterLockout.push(await callOnce(`${second.proxyUrl}/overview`, basic('alice', 'right'), '127.0.0.32'))
    expect(afterLockout).toEqual(Array(6).fill(429))
    expect(
      await workersCounting(second.adminUrl, 'flink_guard_auth_failures_total', { reason: 'throttled' }),
    ).toEqual(['1', '2'])
  })

  it('one address gets one failed-request budget across the four workers', async () => {
    const statuses = []
    for (let i = 0; i < 4 * BURST; i += 1) {
      const replica = replicas[i % 2]!
      statuses.push(await callOnce(`${replica.proxyUrl}/overview`, undefined, '127.0.0.33'))
    }
    // Alone, each worker would answer its first BURST with 401: up to four times BURST in all.
    expect(statuses).toEqual([...Array(BURST).fill(401), ...Array(3 * BURST).fill(429)])
    for (const replica of replicas) {
      expect(await workersCounting(replica.adminUrl, 'flink_guard_rate_limited_total')).toEqual(['1', '2'])
    }
  })
})
