import { createHash } from 'node:crypto'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { hashSync } from '@node-rs/bcrypt'
import { Agent, Pool, request } from 'undici'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { type Standin, startStandin } from '../../src/standin/server.js'
import {
  type JwksServer,
  type SigningKey,
  signingKey,
  signToken,
  startJwksServer,
} from './support/jwks-server.js'
import { connectFrom } from './support/local-address.js'
import { startProxy, type TestProxy } from './support/proxy.js'

/**
 * Brute force and enumeration through the real proxy, from real loopback addresses (127.0.0.0/8 is all
 * local on Linux): the lockout that junk names cannot flush, the count the real user cannot reset, timing
 * that does not tell known users from unknown ones, and a bcrypt storm that does not starve good logins.
 */

const PASSWORD = 'correct horse battery staple'
const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`
const sha = (password: string) => `{SHA}${createHash('sha1').update(password).digest('base64')}`

let standin: Standin
let proxy: TestProxy | undefined
const agents: Agent[] = []

function htpasswd(lines: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'fg-hostile-')), 'users.htpasswd')
  writeFileSync(file, lines)
  return file
}

async function start(basicConfig: Record<string, unknown>) {
  proxy = await startProxy(standin.url, { auth: { basic: basicConfig } })
  return proxy
}

/** A client whose connections come from `localAddress`. */
function from(localAddress: string): Agent {
  const agent = new Agent({ connect: connectFrom(localAddress) })
  agents.push(agent)
  return agent
}

async function status(authorization: string, dispatcher?: Agent): Promise<number> {
  const response = await request(`${proxy!.proxyUrl}/overview`, {
    headers: { authorization },
    ...(dispatcher === undefined ? {} : { dispatcher }),
  })
  await response.body.dump()
  return response.statusCode
}

beforeAll(async () => {
  standin = await startStandin()
})
afterEach(async () => {
  await proxy?.close(1_000)
  proxy = undefined
  await Promise.all(agents.splice(0).map((agent) => agent.close()))
})
afterAll(async () => {
  await standin.close()
})

describe('the Basic lockout', () => {
  it('survives 10,500 failed logins for junk names from hundreds of addresses', {
    timeout: 90_000,
  }, async () => {
    await start({
      htpasswd: htpasswd(`alice:${sha(PASSWORD)}\n`),
      throttle: { maxFailuresPerUser: 3, maxFailuresPerAddress: 50, windowSec: 300 },
    })
    for (let i = 0; i < 3; i += 1) expect(await status(basic('alice', `guess-${i}`))).toBe(401)
    expect(await status(basic('alice', 'guess-3'))).toBe(429)

    // 210 addresses x 50 junk names each: every one a counted failure, none throttled by its address.
    const junk = Array.from({ length: 210 }, (_, a) => ({
      pool: new Pool(proxy!.proxyUrl, {
        connections: 1,
        connect: connectFrom(`127.0.${1 + (a >> 8)}.${a & 255}`),
      }),
      a,
    }))
    let refused = 0
    for (let batch = 0; batch < junk.length; batch += 30) {
      await Promise.all(
        junk.slice(batch, batch + 30).map(async ({ pool, a }) => {
          for (let n = 0; n < 50; n += 1) {
            const response = await pool.request({
              path: '/overview',
              method: 'GET',
              headers: { authorization: basic(`junk-${a}-${n}`, 'x') },
            })
            await response.body.dump()
            if (response.statusCode === 401) refused += 1
          }
        }),
      )
    }
    await Promise.all(junk.map(({ pool }) => pool.close()))
    expect(refused).toBe(10_500)

    // Still locked out, from a fresh address too: the attacker did not win new guesses.
    expect(await status(basic('alice', 'guess-4'), from('127.0.9.9'))).toBe(429)
    expect(await status(basic('alice', PASSWORD), from('127.0.9.10'))).toBe(429)
  })

  it("does not forgive a guesser's failures when the real user logs in inside the window", async () => {
    await start({
      htpasswd: htpasswd(`alice:${sha(PASSWORD)}\n`),
      throttle: { maxFailuresPerUser: 4, maxFailuresPerAddress: 1000, windowSec: 300 },
    })
    const attacker = from('127.0.3.1')
    const owner = from('127.0.3.2')
    for (let i = 0; i < 3; i += 1) expect(await status(basic('alice', `guess-${i}`), attacker)).toBe(401)
    expect(await status(basic('alice', PASSWORD), owner)).toBe(200)
    expect(await status(basic('alice', 'guess-3'), attacker)).toBe(401)
    expect(await status(basic('alice', 'guess-4'), attacker)).toBe(429)
  })
})

describe('timing', () => {
  it('answers unknown names as fast or as slow as the users of the file, not all as its costliest hash', async () => {
    // One bcrypt-10 user (tens of ms) and one {SHA} user (microseconds).
    const slow = hashSync('x', 10).replace(/^\$2b\$/, '$2y$')
    await start({
      htpasswd: htpasswd(`slow:${slow}\nfast:${sha(PASSWORD)}\n`),
      throttle: { maxFailuresPerUser: 100, maxFailuresPerAddress: 10_000, windowSec: 300 },
    })
    const fastest = async (user: string) => {
      let best = Number.POSITIVE_INFINITY
      for (let i = 0; i < 3; i += 1) {
        const started = performance.now()
        expect(await status(basic(user, `wrong-${i}`))).toBe(401)
        best = Math.min(best, performance.now() - started)
      }
      return best
    }
    const fastMs = await fastest('fast')
    const slowMs = await fastest('slow')
    // Wide margins: the machine is shared, and a timing test must not fail on noise.
    const threshold = slowMs / 3
    expect(fastMs).toBeLessThan(threshold)
    const unknown = []
    for (let i = 0; i < 12; i += 1) unknown.push(await fastest(`nobody-${i}`))
    const quick = unknown.filter((ms) => ms < threshold).length
    // About half of the unknown names cost what "fast" costs, the rest what "slow" costs.
    expect(quick).toBeGreaterThan(0)
    expect(quick).toBeLessThan(12)
  })
})

describe('a storm of bad logins', () => {
  let jwks: JwksServer
  let key: SigningKey
  beforeAll(async () => {
    key = await signingKey('k1', 'ES256')
    jwks = await startJwksServer([key.publicJwk])
  })
  afterAll(async () => {
    await jwks.close()
  })

  it('leaves room for a good login and a fresh JWT: both answered before most of the storm', async () => {
    const hash = hashSync(PASSWORD, 8).replace(/^\$2b\$/, '$2y$')
    proxy = await startProxy(standin.url, {
      auth: {
        order: ['jwt', 'basic'],
        jwt: { issuer: 'https://idp.example.com', audience: 'fg', jwksUri: jwks.jwksUri },
        basic: {
          htpasswd: htpasswd(`alice:${hash}\n`),
          throttle: { maxFailuresPerUser: 1000, maxFailuresPerAddress: 10_000, windowSec: 300 },
        },
      },
    })
    // Warm the key set, so the JWT below costs a signature check only.
    const warm = await signToken(key, { iss: 'https://idp.example.com', aud: 'fg', sub: 'warm' })
    expect(await status(`Bearer ${warm}`)).toBe(200)

    const storm = new Pool(proxy!.proxyUrl, { connections: 120, connect: connectFrom('127.0.4.1') })
    const done: string[] = []
    const stormed = Array.from({ length: 120 }, async (_, i) => {
      const response = await storm.request({
        path: '/overview',
        method: 'GET',
        headers: { authorization: basic(`nobody-${i}`, 'x') },
      })
      await response.body.dump()
      done.push(`storm-${response.statusCode}`)
    })
    await new Promise((resolve) => setTimeout(resolve, 30))
    const token = await signToken(key, { iss: 'https://idp.example.com', aud: 'fg', sub: 'fresh' })
    const good = status(basic('alice', PASSWORD), from('127.0.4.2')).then((code) =>
      done.push(`login-${code}`),
    )
    const jwt = status(`Bearer ${token}`, from('127.0.4.3')).then((code) => done.push(`jwt-${code}`))
    await Promise.all([...stormed, good, jwt])
    await storm.close()
    expect(done).toContain('login-200')
    expect(done).toContain('jwt-200')
    // On a shared thread pool both would come after nearly all of the storm they queued behind.
    expect(done.indexOf('login-200')).toBeLessThan(60)
    expect(done.indexOf('jwt-200')).toBeLessThan(60)
  })
})

describe('bcrypt passwords', () => {
  it('refuses a 72-byte password with anything appended (bcrypt reads only the first 72 bytes)', async () => {
    const password = 'a'.repeat(72)
    await start({ htpasswd: htpasswd(`long:${hashSync(password, 4).replace(/^\$2b\$/, '$2y$')}\n`) })
    expect(await status(basic('long', password))).toBe(200)
    expect(await status(basic('long', `${password}-and-anything`))).toBe(401)
  })
})
