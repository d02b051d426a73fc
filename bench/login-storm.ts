/**
 * A good Basic login and a fresh JWT during a storm of bad Basic logins (npx tsx bench/login-storm.ts).
 * Measures; asserts nothing. flink-guard (from dist/, or --build <dist/main.js>) runs in a child process in
 * front of the stand-in, with bcrypt cost 10 for every user and a static ES256 JWKS.
 *
 *   npx tsx bench/login-storm.ts [--build dist/main.js] [--samples 20] [--storm 64]
 *
 * Calm: `samples` good logins (each a new password, so bcrypt runs: a cached login would measure nothing)
 * and `samples` fresh tokens, one at a time. Storm: `storm` connections from 4 loopback addresses sending
 * failed logins for unknown names without pause, and the same samples taken meanwhile from another address.
 * Reports the median and p90 of each, calm and in the storm, and writes bench/results/login-storm-<time>.json.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { hashSync } from '@node-rs/bcrypt'
import { exportJWK, generateKeyPair, SignJWT } from 'jose'
import { Agent, Pool, request } from 'undici'
import { startStandin } from '../src/standin/server.js'
import { connectFrom } from '../test/integration/support/local-address.js'

const { values: args } = parseArgs({
  options: {
    build: { type: 'string', default: 'dist/main.js' },
    samples: { type: 'string', default: '20' },
    storm: { type: 'string', default: '64' },
  },
})
const SAMPLES = Number(args.samples)
const STORM_CONNECTIONS = Number(args.storm)
const PORT = 19_300
const COST = 10

const work = mkdtempSync(join(tmpdir(), 'fg-login-storm-'))
const { publicKey, privateKey } = await generateKeyPair('ES256')
const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' }
writeFileSync(join(work, 'jwks.json'), JSON.stringify({ keys: [jwk] }))
// One user per sample, so every good login in the storm pays a real bcrypt check (none is cached).
const users = Array.from({ length: SAMPLES * 2 }, (_, i) => `user${i}`)
const password = (user: string) => `pw-${user}`
writeFileSync(
  join(work, 'users.htpasswd'),
  users.map((user) => `${user}:${hashSync(password(user), COST).replace(/^\$2b\$/, '$2y$')}\n`).join(''),
)
const standin = await startStandin()
writeFileSync(
  join(work, 'flink-guard.yaml'),
  [
    `listen: { host: 127.0.0.1, port: ${PORT} }`,
    'admin: { port: 0 }',
    `upstream: { url: "${standin.url}" }`,
    'auth:',
    '  order: [jwt, basic]',
    `  jwt: { issuer: "https://idp.example.com", audience: fg, keyFiles: ["${join(work, 'jwks.json')}"] }`,
    `  basic: { htpasswd: "${join(work, 'users.htpasswd')}", cacheTtlSec: 0, throttle: { maxFailuresPerAddress: 1000000, maxFailuresPerUser: 1000000 } }`,
    'authz: { rules: [{ effect: allow, path: "/**" }] }',
    // The per-address rate limit off, as the lockout above: every storm request must reach bcrypt, the worst case.
    'limits: { failedRequests: { burst: 0 } }',
    '',
  ].join('\n'),
)

const proxy: ChildProcess = spawn(
  process.execPath,
  [args.build, 'serve', '--config', join(work, 'flink-guard.yaml')],
  {
    stdio: ['ignore', 'ignore', 'inherit'],
    detached: false,
  },
)
process.on('exit', () => proxy.kill('SIGKILL'))
const url = `http://127.0.0.1:${PORT}`
for (let i = 0; ; i += 1) {
  try {
    await (await request(`${url}/overview`)).body.dump()
    break
  } catch {
    if (i > 150) throw new Error('flink-guard did not start')
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

const sampler = new Agent({ connect: connectFrom('127.0.7.1') })
const basic = (user: string, pw: string) => `Basic ${Buffer.from(`${user}:${pw}`).toString('base64')}`
async function timed(authorization: string): Promise<number> {
  const started = performance.now()
  const response = await request(`${url}/overview`, { headers: { authorization }, dispatcher: sampler })
  await response.body.dump()
  if (response.statusCode !== 200) throw new Error(`sample answered ${response.statusCode}`)
  return performance.now() - started
}
const token = () =>
  new SignJWT({})
    .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
    .setIssuer('https://idp.example.com')
    .setAudience('fg')
    .setSubject(`fresh-${Math.random()}`)
    .setIssuedAt()
    .setExpirationTime('5m')
    .sign(privateKey)

async function sample(offset: number) {
  const logins: number[] = []
  const jwts: number[] = []
  for (let i = 0; i < SAMPLES; i += 1) {
    const user = users[offset + i]!
    logins.push(await timed(basic(user, password(user))))
    jwts.push(await timed(`Bearer ${await token()}`))
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return { logins, jwts }
}
const stats = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b)
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!
  return { medianMs: Math.round(at(0.5) * 10) / 10, p90Ms: Math.round(at(0.9) * 10) / 10 }
}

// Warm-up: JIT, the key set, the upstream pool.
await timed(`Bearer ${await token()}`)
const calm = await sample(0)
console.error('calm sampled', stats(calm.logins), stats(calm.jwts))

let stopping = false
let stormRequests = 0
const stormStatuses: Record<number, number> = {}
const pools = [1, 2, 3, 4].map(
  (a) => new Pool(url, { connections: STORM_CONNECTIONS / 4, connect: connectFrom(`127.0.8.${a}`) }),
)
const storm = pools.flatMap((pool, a) =>
  Array.from({ length: STORM_CONNECTIONS / 4 }, async (_, c) => {
    for (let n = 0; !stopping; n += 1) {
      const response = await pool.request({
        path: '/overview',
        method: 'GET',
        headers: { authorization: basic(`nobody-${a}-${c}-${n}`, 'wrong') },
      })
      await response.body.dump()
      stormRequests += 1
      stormStatuses[response.statusCode] = (stormStatuses[response.statusCode] ?? 0) + 1
    }
  }),
)
await new Promise((resolve) => setTimeout(resolve, 1_000))
const stormStarted = performance.now()
const stormed = await sample(SAMPLES)
const stormSec = (performance.now() - stormStarted) / 1000
stopping = true
await Promise.all(storm)

const result = {
  build: args.build,
  bcryptCost: COST,
  stormConnections: STORM_CONNECTIONS,
  stormRequestsPerSec: Math.round(stormRequests / stormSec),
  stormStatuses,
  calm: { goodLogin: stats(calm.logins), freshJwt: stats(calm.jwts) },
  storm: { goodLogin: stats(stormed.logins), freshJwt: stats(stormed.jwts) },
}
console.log(JSON.stringify(result, null, 2))
mkdirSync(join(import.meta.dirname, 'results'), { recursive: true })
writeFileSync(
  join(import.meta.dirname, 'results', `login-storm-${new Date().toISOString().replaceAll(':', '-')}.json`),
  `${JSON.stringify(result, null, 2)}\n`,
)
await Promise.all(pools.map((pool) => pool.close()))
await sampler.close()
await standin.close()
process.exit(0)
