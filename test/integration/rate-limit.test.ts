import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { hashSync } from '@node-rs/bcrypt'
import { Agent, request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Standin, startStandin } from '../../src/standin/server.js'
import { connectFrom } from './support/local-address.js'
import { startProxy, type TestProxy } from './support/proxy.js'

/**
 * limits.failedRequests through the real proxy, from real loopback addresses (127.0.0.0/8 is all local on
 * Linux): a flood of refused requests from one address is turned into 429s while another address and the good
 * user at the flooded address go on, and a sweep over many addresses leaves the table within its bound.
 */

const BURST = 5
const MAX_ADDRESSES = 40
const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`

let standin: Standin
let proxy: TestProxy
const agents: Agent[] = []

function from(localAddress: string): Agent {
  const agent = new Agent({ connect: connectFrom(localAddress) })
  agents.push(agent)
  return agent
}

async function call(dispatcher: Agent, authorization?: string) {
  const response = await request(`${proxy.proxyUrl}/overview`, {
    dispatcher,
    headers: authorization === undefined ? {} : { authorization },
  })
  return {
    status: response.statusCode,
    code: response.headers['x-flink-guard-error'],
    retryAfter: response.headers['retry-after'],
    body: (await response.body.json()) as unknown,
  }
}

async function scrape(name: string): Promise<number> {
  const text = await (await request(`${proxy.adminUrl}/metrics`)).body.text()
  return Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(text)?.[1] ?? Number.NaN)
}

beforeAll(async () => {
  standin = await startStandin({ port: 0 })
  const file = join(mkdtempSync(join(tmpdir(), 'fg-rate-')), 'users.htpasswd')
  writeFileSync(file, `alice:${hashSync('wonderland', 4).replace(/^\$2b\$/, '$2y$')}\n`)
  proxy = await startProxy(standin.url, {
    auth: { basic: { htpasswd: file, users: { alice: ['tester'] } } },
    limits: { failedRequests: { burst: BURST, perMinute: 1, maxAddresses: MAX_ADDRESSES } },
  })
})
afterAll(async () => {
  await Promise.all(agents.map((agent) => agent.close()))
  await proxy.close(1_000)
  await standin.close()
})

describe('a flood of refused requests from one address', () => {
  it('is answered 429 with Retry-After in Flink error shape once the burst is spent; others are not limited', async () => {
    const flooder = from('127.0.0.21')
    const statuses: number[] = []
    for (let i = 0; i < BURST; i += 1) {
      statuses.push((await call(flooder, i % 2 === 0 ? undefined : basic('alice', `guess-${i}`))).status)
    }
    expect(statuses).toEqual(Array(BURST).fill(401))

    for (const authorization of [undefined, basic('alice', 'wrong'), basic('mallory', 'x')]) {
      const limited = await call(flooder, authorization)
      expect(limited.status).toBe(429)
      expect(limited.code).toBe('FG_ERR_REQUEST_RATE_LIMITED')
      expect(Number(limited.retryAfter)).toBeGreaterThanOrEqual(1)
      expect(limited.body).toEqual({ errors: [expect.stringContaining('Too many failed')] })
    }
    expect(await scrape('flink_guard_rate_limited_total')).toBe(3)

    // Another address has its own budget.
    expect((await call(from('127.0.0.22'))).status).toBe(401)
    // The good user at the flooded address is never limited, and is not charged for it.
    for (let i = 0; i < 3; i += 1) {
      expect((await call(flooder, basic('alice', 'wonderland'))).status).toBe(200)
    }
    expect((await call(flooder)).status).toBe(429)
  })
})

describe('many addresses', () => {
  it('keep the tracked table within limits.failedRequests.maxAddresses', async () => {
    for (let i = 0; i < MAX_ADDRESSES * 3; i += 1) {
      const client = new Agent({ connect: connectFrom(`127.0.1.${i + 1}`) })
      expect((await call(client)).status).toBe(401)
      await client.close()
    }
    expect(await scrape('flink_guard_rate_limit_addresses')).toBe(MAX_ADDRESSES)
  })
})
