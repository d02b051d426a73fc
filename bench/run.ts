/**
 * The forwarding-path benchmark (npm run bench): flink-guard against a direct connection and NGINX, on this
 * machine, pinned as bench/README.md describes. Measures; asserts nothing.
 *
 *   npm run bench -- [--duration 10] [--runs 3] [--connections 50] [--cases a,b] [--profile <case>]
 *                    [--baseline <other build's dist/main.js>]
 *
 * --baseline runs every flink-guard case a second time from another build, interleaved with this one, so a
 * change to the hot path is measured before and after under the same conditions.
 */
import { type ChildProcess, execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { parseArgs } from 'node:util'
import { hashSync } from '@node-rs/bcrypt'
import { exportJWK, generateKeyPair, SignJWT } from 'jose'
import ts from 'typescript'
import { Agent } from 'undici'
import { renderChart } from './chart.js'
import { forwardAuthLocations, nginxArgs } from './nginx.js'
import { benchCertificates, LOAD_CORE, PinnedProcesses, PROXY_CORE, waitFor } from './processes.js'
import { type CaseResult, median, runWrk, type WrkRun } from './wrk.js'

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    runs: { type: 'string', default: '3' },
    connections: { type: 'string', default: '50' },
    cases: { type: 'string' },
    profile: { type: 'string' },
    baseline: { type: 'string' },
  },
})
const DURATION_SEC = Number(args.duration)
const RUNS = Number(args.runs)
const CONNECTIONS = Number(args.connections)
const PATH = '/config'

const work = mkdtempSync(join(tmpdir(), 'fg-bench-'))
const processes = new PinnedProcesses()
const start = processes.start.bind(processes)

let nextPort = 19_100
const port = () => nextPort++

// Shared material: certificates, a signing key and a token, an htpasswd user at bcrypt cost 10.
const certs = benchCertificates(work)
const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true })
const jwksFile = join(work, 'jwks.json')
writeFileSync(
  jwksFile,
  JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'bench', alg: 'ES256' }] }),
)
const token = await new SignJWT({ groups: ['ops'] })
  .setProtectedHeader({ alg: 'ES256', kid: 'bench' })
  .setIssuer('https://idp.bench')
  .setAudience('flink')
  .setSubject('bench')
  .setExpirationTime('2h')
  .sign(privateKey)
const htpasswd = join(work, 'users.htpasswd')
writeFileSync(htpasswd, `bench:${hashSync('bench-password', 10)}\n`)
const basicHeader = `Basic ${Buffer.from('bench:bench-password').toString('base64')}`

// The Flink stand-in, on the load core.
const standinPort = port()
const standin = start('node', ['dist/main.js', 'standin', '--port', String(standinPort)], LOAD_CORE)
const upstream = `http://127.0.0.1:${standinPort}`
await waitFor(`${upstream}/config`)

interface Case {
  readonly name: string
  readonly url: string
  readonly headers: Record<string, string>
  /**
   * The server of the case: a process that serves every run (the stand-in, NGINX), or, for a Node server, how
   * to start a fresh one for each run. Two processes of one build differ by up to a tenth in CPU per request
   * (code and heap layout), so a median over fresh processes is not one process's luck. Its pid gives the CPU
   * time per request (its children count too).
   */
  readonly server: number | Launch
}

/** Starts a Node server for one run; with node's own flags first (--cpu-prof when it is profiled). */
type Launch = (nodeFlags: string[]) => Promise<ChildProcess>

/** Whether the process still runs: a server that died during a run must not lend the run its figures. */
function alive(pid: number): boolean {
  try {
    // The state follows the parenthesised command name; Z is a zombie, dead but not yet reaped.
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.startsWith('Z')
  } catch {
    return false
  }
}

const JWT_AUTHZ = `auth: { jwt: { issuer: https://idp.bench, audience: flink, keyFiles: [${jwksFile}], algorithms: [ES256] } }\nauthz: { roles: { ops: operator } }\n`
const TLS = `tls: { cert: ${certs}/server.pem, key: ${certs}/server-key.pem }\n`
const ANONYMOUS = 'auth: { anonymous: { roles: [bench] } }\nauthz: { roles: { bench: viewer } }\n'
const proxyConfigs: [string, string, Record<string, string>][] = [
  ['flink-guard HTTP', ANONYMOUS, {}],
  ['flink-guard TLS', TLS + ANONYMOUS, {}],
  ['flink-guard TLS + JWT + authz', TLS + JWT_AUTHZ, { Authorization: `Bearer ${token}` }],
  // Issue 7's budget: recording metrics costs the hot path no more than a few percent.
  [
    'flink-guard TLS + JWT + authz (metrics off)',
    `${TLS}${JWT_AUTHZ}metrics: { enabled: false }\n`,
    { Authorization: `Bearer ${token}` },
  ],
  // A new connection per request (wrk reconnects after `Connection: close`), every one a full handshake.
  [
    'flink-guard TLS (new connection per request: full handshake)',
    `tls: { cert: ${certs}/server.pem, key: ${certs}/server-key.pem, sessionTickets: false }\n${ANONYMOUS}`,
    { Connection: 'close' },
  ],
  [
    'flink-guard TLS + basic (bcrypt 10) + authz',
    `${TLS}auth: { basic: { htpasswd: ${htpasswd}, users: { bench: [ops] } } }\nauthz: { roles: { ops: operator } }\n`,
    { Authorization: basicHeader },
  ],
]

const cases: Case[] = [
  { name: 'direct to the stand-in', url: `${upstream}${PATH}`, headers: {}, server: standin.pid! },
]
const builds: [string, string][] = [['', 'dist/main.js']]
if (args.baseline !== undefined) builds.push([' [baseline]', args.baseline])
for (const [caseName, config, headers] of proxyConfigs)
  for (const [suffix, mainJs] of builds) {
    const name = caseName + suffix
    const proxyPort = port()
    const adminPort = port()
    const file = join(work, `${proxyPort}.yaml`)
    writeFileSync(
      file,
      `listen: { port: ${proxyPort} }\nadmin: { port: ${adminPort} }\nupstream: { url: "${upstream}" }\n${config}`,
    )
    const scheme = config.startsWith('tls') ? 'https' : 'http'
    const launch: Launch = async (nodeFlags) => {
      const proxy = start(
        'node',
        [...nodeFlags, mainJs, 'serve', '--config', file, '--log-level', 'warn'],
        PROXY_CORE,
      )
      await waitFor(`http://127.0.0.1:${adminPort}/readyz`)
      return proxy
    }
    cases.push({ name, url: `${scheme}://127.0.0.1:${proxyPort}${PATH}`, headers, server: launch })
  }

const trustsBenchCa = new Agent({ connect: { ca: readFileSync(`${certs}/ca.pem`) } })
// Compiled to plain JavaScript like flink-guard's dist/, so no loader hooks run beside it.
const floorProxy = join('bench', 'results', 'tmp', 'floor-proxy.mjs')
mkdirSync(dirname(floorProxy), { recursive: true })
writeFileSync(
  floorProxy,
  ts.transpileModule(readFileSync('bench/floor-proxy.ts', 'utf8'), {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
  }).outputText,
)
// The floor rows: the same forward with nothing else, on bare Node and on bare Fastify (bench/floor-proxy.ts).
for (const [kind, name, tickets, headers] of [
  ['node', 'floor: Node HTTPS + undici (no checks)', 'tickets', {}],
  ['fastify', 'floor: Fastify HTTPS + undici (no checks)', 'tickets', {}],
  [
    'node',
    'floor: Node HTTPS + undici (new connection per request: full handshake)',
    'no-tickets',
    { Connection: 'close' },
  ],
] as const) {
  const floorPort = port()
  const floorArgs = [
    kind,
    String(floorPort),
    upstream,
    `${certs}/server.pem`,
    `${certs}/server-key.pem`,
    tickets,
  ]
  const launch: Launch = async (nodeFlags) => {
    const floor = start('node', [...nodeFlags, floorProxy, ...floorArgs], PROXY_CORE)
    await waitFor(`https://127.0.0.1:${floorPort}/`, { dispatcher: trustsBenchCa })
    return floor
  }
  cases.push({ name, url: `https://127.0.0.1:${floorPort}${PATH}`, headers, server: launch })
}

// The reference rows: NGINX with the same certificate, pinned the same way.
const nginx = (() => {
  try {
    execFileSync('nginx', ['-v'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
})()
if (nginx) {
  const nginxPort = port()
  const nginxFullHandshakePort = port()
  const authPort = port()
  const authNginxPort = port()
  // flink-guard as NGINX's authorization service (forward-auth mode), on the load core like the JWT service.
  const forwardAuthPort = port()
  const forwardAuthAdminPort = port()
  const forwardAuthNginxPort = port()
  const forwardAuthFile = join(work, 'forward-auth.yaml')
  writeFileSync(
    forwardAuthFile,
    `listen: { port: ${forwardAuthPort} }\nadmin: { port: ${forwardAuthAdminPort} }\nupstream: { url: "${upstream}" }\nforwardAuth: { enabled: true }\n${JWT_AUTHZ}`,
  )
  start('node', ['dist/main.js', 'serve', '--config', forwardAuthFile, '--log-level', 'warn'], LOAD_CORE)
  // A small JWT-checking service for auth_request, as people glue it today (jose, verify per request).
  start('npx', ['tsx', 'bench/jwt-auth-service.ts', String(authPort), jwksFile], LOAD_CORE)
  const conf = nginxArgs(
    join(work, 'nginx'),
    `  upstream flink { server 127.0.0.1:${standinPort}; keepalive 64; }
  upstream auth { server 127.0.0.1:${authPort}; keepalive 64; }
  upstream guard { server 127.0.0.1:${forwardAuthPort}; keepalive 64; }
  ssl_certificate ${certs}/server.pem; ssl_certificate_key ${certs}/server-key.pem;
  server {
    listen 127.0.0.1:${nginxPort} ssl;
    location / { proxy_pass http://flink; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
  server {
    listen 127.0.0.1:${nginxFullHandshakePort} ssl;
    ssl_session_tickets off; ssl_session_cache off;
    location / { proxy_pass http://flink; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
  server {
    listen 127.0.0.1:${authNginxPort} ssl;
    location / { auth_request /_auth; proxy_pass http://flink; proxy_http_version 1.1; proxy_set_header Connection ""; }
    location = /_auth { internal; proxy_pass http://auth; proxy_http_version 1.1; proxy_set_header Connection "";
      proxy_pass_request_body off; proxy_set_header Content-Length ""; }
  }
  server {
    listen 127.0.0.1:${forwardAuthNginxPort} ssl;
${forwardAuthLocations('flink', 'guard')}
  }`,
  )
  const server = start('nginx', conf, PROXY_CORE)
  await waitFor(`http://127.0.0.1:${authPort}/`, { headers: { authorization: `Bearer ${token}` } })
  await waitFor(`http://127.0.0.1:${forwardAuthAdminPort}/readyz`)
  await new Promise((resolve) => setTimeout(resolve, 500))
  cases.push({
    name: 'NGINX TLS plain forward',
    url: `https://127.0.0.1:${nginxPort}${PATH}`,
    headers: {},
    server: server.pid!,
  })
  cases.push({
    name: 'NGINX TLS + auth_request (JWT service)',
    url: `https://127.0.0.1:${authNginxPort}${PATH}`,
    headers: { Authorization: `Bearer ${token}` },
    // NGINX only: the JWT service's CPU is not counted in this row's CPU figure.
    server: server.pid!,
  })
  cases.push({
    name: 'NGINX TLS + auth_request (flink-guard forward-auth: JWT + authz)',
    url: `https://127.0.0.1:${forwardAuthNginxPort}${PATH}`,
    headers: { Authorization: `Bearer ${token}` },
    // NGINX only, as the row above: flink-guard's CPU for the check is on the load core.
    server: server.pid!,
  })
  cases.push({
    name: 'NGINX TLS (new connection per request: full handshake)',
    url: `https://127.0.0.1:${nginxFullHandshakePort}${PATH}`,
    headers: { Connection: 'close' },
    server: server.pid!,
  })
} else {
  console.error('nginx not found: the NGINX reference rows are skipped (apt-get install nginx wrk)')
}

// A new connection per request with resumption on offer: wrk hands each new connection the previous one's TLS
// session, which the servers above resume (tickets on, their default) and those with tickets off do not.
for (const [keepAlive, name] of [
  ['flink-guard TLS', 'flink-guard TLS (new connection per request: resumption offered)'],
  ['NGINX TLS plain forward', 'NGINX TLS (new connection per request: resumption offered)'],
]) {
  const base = cases.find((c) => c.name === keepAlive)
  if (base !== undefined) cases.push({ ...base, name: name!, headers: { Connection: 'close' } })
}

const wanted = args.cases?.split(',') ?? null
const unknown = wanted?.filter((name) => !cases.some((c) => c.name === name)) ?? []
if (unknown.length > 0)
  throw new Error(`no such case: ${unknown.join('; ')} (cases: ${cases.map((c) => c.name).join('; ')})`)
const selected = wanted === null ? cases : cases.filter((c) => wanted.includes(c.name))
if (
  args.profile !== undefined &&
  !selected.some((c) => c.name === args.profile && typeof c.server !== 'number')
)
  throw new Error(`--profile: "${args.profile}" is not a selected case with a Node server`)
const slug = (name: string) => name.replace(/[^A-Za-z0-9]+/g, '-').replace(/^-|-$/g, '')
const runs = new Map<string, WrkRun[]>(selected.map((c) => [c.name, []]))
// Interleaved: every case once, then every case again, so drift hits all rows alike.
for (let run = 0; run < RUNS; run++) {
  for (const benchCase of selected) {
    // A profile per run, named after the case; it covers start-up and the unmeasured second too.
    const profileFlags =
      args.profile === benchCase.name
        ? [
            '--cpu-prof',
            '--cpu-prof-dir=bench/results/profiles',
            `--cpu-prof-name=${slug(benchCase.name)}.run${run + 1}.cpuprofile`,
          ]
        : []
    const fresh = typeof benchCase.server === 'number' ? null : await benchCase.server(profileFlags)
    const load = { connections: CONNECTIONS, core: LOAD_CORE }
    // One unmeasured second first, so every run is measured with its hot path compiled.
    runWrk(benchCase.url, benchCase.headers, { ...load, durationSec: 1, serverPid: null })
    const result = runWrk(benchCase.url, benchCase.headers, {
      ...load,
      durationSec: DURATION_SEC,
      serverPid: fresh?.pid ?? (benchCase.server as number),
    })
    if (fresh !== null) {
      if (!alive(fresh.pid!)) throw new Error(`${benchCase.name}: the server died during the run`)
      await processes.stop(fresh)
    }
    runs.get(benchCase.name)!.push(result)
    console.error(
      `run ${run + 1}/${RUNS} ${benchCase.name}: ${Math.round(result.requestsPerSec)} req/s, ${result.cpuUsPerRequest?.toFixed(0) ?? '–'} CPU µs/req`,
    )
  }
}

const results: CaseResult[] = selected.map((benchCase) => median(benchCase.name, runs.get(benchCase.name)!))
const reference = results.find((result) => result.name === 'NGINX TLS plain forward')
/**
 * req/s × CPU per request: how much of its core the server used. Below ~95% something else set the pace (wrk,
 * the stand-in or the JWT service on the load core), and the row's req/s is a lower bound of what it can do.
 */
const coreBusy = (result: CaseResult) =>
  result.cpuUsPerRequest === null
    ? '–'
    : `${Math.round((result.requestsPerSec * result.cpuUsPerRequest) / 1e4)}%`
const table = [
  `Keep-alive GET ${PATH}, ${CONNECTIONS} connections, ${DURATION_SEC} s, median of ${RUNS}; proxy on core ${PROXY_CORE}, wrk and stand-in on core ${LOAD_CORE}; node ${process.version}`,
  '',
  '| case | req/s | p50 ms | p99 ms | × NGINX TLS | server CPU µs/req | core busy | errors |',
  '|---|---|---|---|---|---|---|---|',
  ...results.map(
    (result) =>
      `| ${result.name} | ${Math.round(result.requestsPerSec)} | ${result.p50Ms.toFixed(2)} | ${result.p99Ms.toFixed(2)} | ${reference ? (result.requestsPerSec / reference.requestsPerSec).toFixed(2) : '–'} | ${result.cpuUsPerRequest?.toFixed(0) ?? '–'} | ${coreBusy(result)} | ${result.errors} |`,
  ),
].join('\n')
console.log(table)
const stamp = new Date().toISOString().replace(/[:.]/g, '-')
mkdirSync('bench/results', { recursive: true })
writeFileSync(
  `bench/results/${stamp}.json`,
  `${JSON.stringify({ durationSec: DURATION_SEC, runs: RUNS, connections: CONNECTIONS, node: process.version, results, perRun: Object.fromEntries(runs) }, null, 2)}\n`,
)
writeFileSync(`bench/results/${stamp}.svg`, renderChart(results, reference?.name ?? null))
console.log(`\nwrote bench/results/${stamp}.json and .svg`)
processes.stopAll()
process.exit(0)
