/**
 * Flink's clients' shape (npm run bench:resumption): a new TLS connection per request (`Connection: close`),
 * offering the last session, against flink-guard and NGINX in one run, driven by wrk and by a JSSE client
 * (bench/java/ResumingHttpsClient.java, Flink RestClient's TLS settings), for TLS 1.2 and 1.3. Each row says
 * how many handshakes the *server* resumed: flink-guard's flink_guard_tls_handshakes_total, NGINX's
 * $ssl_session_reused in an access log. Measures; asserts nothing.
 *
 *   npm run bench:resumption -- [--duration 5] [--connections 4]
 */
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { renderChart } from './chart.js'
import { nginxArgs } from './nginx.js'
import {
  benchCertificates,
  LOAD_CORE,
  PinnedProcesses,
  PROXY_CORE,
  STORE_PASSWORD,
  waitFor,
} from './processes.js'
import { runWrk } from './wrk.js'

const { values: args } = parseArgs({
  options: { duration: { type: 'string', default: '5' }, connections: { type: 'string', default: '4' } },
})
const DURATION_SEC = Number(args.duration)
const CONNECTIONS = Number(args.connections)
const PASSWORD = STORE_PASSWORD

const work = mkdtempSync(join(tmpdir(), 'fg-resumption-'))
const processes = new PinnedProcesses()
const start = (command: string, argv: string[], core: string) =>
  processes.start(command, argv, core, 'ignore')
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const certs = benchCertificates(work)

// The JSSE client, compiled once.
const classes = join(work, 'classes')
execFileSync('javac', ['-d', classes, 'bench/java/ResumingHttpsClient.java'])

const [standinPort, guardPort, adminPort, nginxPort] = [19_300, 19_301, 19_302, 19_303]
start('node', ['dist/main.js', 'standin', '--port', String(standinPort)], LOAD_CORE)
await waitFor(`http://127.0.0.1:${standinPort}/config`)

const guardConfig = join(work, 'guard.yaml')
writeFileSync(
  guardConfig,
  `listen: { port: ${guardPort} }\nadmin: { port: ${adminPort} }\nupstream: { url: "http://127.0.0.1:${standinPort}" }\ntls: { cert: ${certs}/server.pem, key: ${certs}/server-key.pem }\nauth: { anonymous: { roles: [bench] } }\nauthz: { roles: { bench: viewer } }\n`,
)
start('node', ['dist/main.js', 'serve', '--config', guardConfig, '--log-level', 'warn'], PROXY_CORE)
await waitFor(`http://127.0.0.1:${adminPort}/readyz`)

const accessLog = join(work, 'nginx', 'reused.log')
start(
  'nginx',
  nginxArgs(
    join(work, 'nginx'),
    `  upstream flink { server 127.0.0.1:${standinPort}; keepalive 64; }
  log_format reused '$ssl_session_reused';
  ssl_certificate ${certs}/server.pem; ssl_certificate_key ${certs}/server-key.pem;
  server {
    listen 127.0.0.1:${nginxPort} ssl;
    access_log ${accessLog} reused;
    location / { proxy_pass http://flink; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }`,
  ),
  PROXY_CORE,
)
await sleep(500)

interface Handshakes {
  readonly resumed: number
  readonly full: number
}
async function guardHandshakes(): Promise<Handshakes> {
  const text = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text()
  const count = (resumed: string) =>
    Number(
      new RegExp(`^flink_guard_tls_handshakes_total\\{resumed="${resumed}"\\} (\\d+)`, 'm').exec(text)?.[1] ??
        0,
    )
  return { resumed: count('true'), full: count('false') }
}
function nginxHandshakes(): Handshakes {
  let lines: string[] = []
  try {
    lines = readFileSync(accessLog, 'utf8').split('\n')
  } catch {}
  return {
    resumed: lines.filter((line) => line === 'r').length,
    full: lines.filter((line) => line === '.').length,
  }
}

type Load = 'wrk' | 'JSSE'
type Version = 'TLSv1.2' | 'TLSv1.3'
interface Row {
  readonly name: string
  readonly requestsPerSec: number
  readonly p50Ms: number
  readonly p99Ms: number
  readonly errors: number
  readonly resumed: number
  readonly full: number
}

function jsse(port: number, version: Version): Omit<Row, 'name' | 'resumed' | 'full'> {
  // One second more than measured: the first connections of a cold JVM are not the figure.
  const out = execFileSync('taskset', [
    '-c',
    LOAD_CORE,
    'java',
    '-cp',
    classes,
    'ResumingHttpsClient',
    '127.0.0.1',
    String(port),
    '/config',
    `${certs}/ca.truststore.p12`,
    PASSWORD,
    version,
    String(CONNECTIONS),
    String(DURATION_SEC),
  ])
  return JSON.parse(String(out)) as Omit<Row, 'name' | 'resumed' | 'full'>
}

const rows: Row[] = []
// NGINX's listener speaks TLS 1.2 and 1.3; wrk negotiates the highest, so wrk's rows are TLS 1.3.
const plan: [string, number, Load, Version, () => Handshakes | Promise<Handshakes>][] = []
for (const [server, port, count] of [
  ['flink-guard', guardPort, guardHandshakes],
  ['NGINX', nginxPort, nginxHandshakes],
] as const) {
  plan.push([server, port, 'wrk', 'TLSv1.3', count])
  for (const version of ['TLSv1.2', 'TLSv1.3'] as const) plan.push([server, port, 'JSSE', version, count])
}
for (const [server, port, load, version, count] of plan) {
  const before = await count()
  const figures =
    load === 'wrk'
      ? runWrk(
          `https://127.0.0.1:${port}/config`,
          { Connection: 'close' },
          {
            durationSec: DURATION_SEC,
            connections: CONNECTIONS,
            core: LOAD_CORE,
            serverPid: null,
          },
        )
      : jsse(port, version)
  await sleep(300)
  const after = await count()
  const row: Row = {
    name: `${server} (${load}, ${version}, new connection per request)`,
    requestsPerSec: figures.requestsPerSec,
    p50Ms: figures.p50Ms,
    p99Ms: figures.p99Ms,
    errors: figures.errors,
    resumed: after.resumed - before.resumed,
    full: after.full - before.full,
  }
  rows.push(row)
  console.error(
    `${row.name}: ${Math.round(row.requestsPerSec)} req/s, ${row.resumed} resumed, ${row.full} full`,
  )
}

const table = [
  `New TLS connection per request (Connection: close), last session offered; ${CONNECTIONS} connections, ${DURATION_SEC} s a row; server on core ${PROXY_CORE}, load on core ${LOAD_CORE} (2 cores, shared); node ${process.version}`,
  '',
  '| case | req/s | p50 ms | p99 ms | errors | handshakes resumed (server) | full (server) | resumed share |',
  '|---|---|---|---|---|---|---|---|',
  ...rows.map(
    (row) =>
      `| ${row.name} | ${Math.round(row.requestsPerSec)} | ${row.p50Ms.toFixed(2)} | ${row.p99Ms.toFixed(2)} | ${row.errors} | ${row.resumed} | ${row.full} | ${Math.round((100 * row.resumed) / Math.max(1, row.resumed + row.full))}% |`,
  ),
].join('\n')
console.log(table)
mkdirSync('bench/results', { recursive: true })
const stamp = new Date().toISOString().replace(/[:.]/g, '-')
writeFileSync(
  `bench/results/resumption-${stamp}.json`,
  `${JSON.stringify({ durationSec: DURATION_SEC, connections: CONNECTIONS, node: process.version, rows }, null, 2)}\n`,
)
writeFileSync(
  `bench/results/resumption-${stamp}.svg`,
  renderChart(
    rows.map((row) => ({ ...row, name: `${row.name}: ${row.resumed}/${row.resumed + row.full} resumed` })),
    null,
    'New TLS connection per request, last session offered (req/s; server-side resumption count)',
  ),
)
console.log(`\nwrote bench/results/resumption-${stamp}.json and .svg`)
process.exit(0)
