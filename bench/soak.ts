/**
 * The soak (npm run soak): mixed traffic against flink-guard (dist/main.js, a child process) in front of the
 * stand-in for a bounded time, sampling the proxy's RSS, heap, open file descriptors and event-loop delay
 * (its own /metrics) and the clients' unexpected answers. Measures; asserts nothing.
 *
 *   npm run soak -- [--minutes 10] [--sample-sec 5] [--sidecar] [--node-flag <flag>]...
 *
 * Traffic: dashboard-like polling (10 keep-alive clients, a cached Basic login, 4 routes a second each),
 * CLI-like calls on a new connection each, small jar uploads followed by their deletion, denials (a viewer
 * uploading), and bad logins from rotating loopback addresses. Writes bench/results/soak-<time>.json and
 * an SVG chart beside it; prints start and end figures.
 *
 * `--sidecar` is the JobManager sidecar of docker/k8s/flink-deployment.yaml, the load its resources come from:
 * flink-guard on TLS, the Kubernetes operator's calls (the kubernetes-operator profile) each on a new TLS
 * connection presenting a client certificate, the dashboard polling over TLS, the small uploads, and one
 * streamed 1 GiB jar upload 20 s in. The report adds the process's peak RSS (VmHWM), which samples miss.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { parseArgs } from 'node:util'
import { hashSync } from '@node-rs/bcrypt'
import { Agent, request, setGlobalDispatcher } from 'undici'
import { startStandin } from '../src/standin/server.js'
import { generateCertificates } from '../src/tls/gen-certs.js'
import { connectFrom } from '../test/integration/support/local-address.js'

const { values: args } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    'sample-sec': { type: 'string', default: '5' },
    sidecar: { type: 'boolean', default: false },
    // Flags for the proxy's node, e.g. --node-flag=--min-semi-space-size=16 to hold V8's young generation.
    'node-flag': { type: 'string', multiple: true, default: [] },
  },
})
const DURATION_MS = Number(args.minutes) * 60_000
const SAMPLE_MS = Number(args['sample-sec']) * 1000
const PORT = 19_400
const ADMIN_PORT = 19_401

const work = mkdtempSync(join(tmpdir(), 'fg-soak-'))
const hash = (password: string) => hashSync(password, 8).replace(/^\$2b\$/, '$2y$')
writeFileSync(join(work, 'users.htpasswd'), `ops:${hash('ops-pw')}\nview:${hash('view-pw')}\n`)
const standin = await startStandin()
const basicAuth = `basic: { htpasswd: "${join(work, 'users.htpasswd')}", users: { ops: [ops], view: [view] } }`
// The sidecar's TLS: the JobManager's certificate, and the operator's client certificate (CN flink-operator).
if (args.sidecar) {
  generateCertificates({
    dir: work,
    dns: ['localhost'],
    ips: ['127.0.0.1'],
    password: 'soak',
    clientName: 'flink-operator',
    validityDays: 1,
  })
}
const pem = (name: string) => readFileSync(join(work, name))
writeFileSync(
  join(work, 'flink-guard.yaml'),
  [
    `listen: { host: 127.0.0.1, port: ${PORT} }`,
    `admin: { port: ${ADMIN_PORT} }`,
    `upstream: { url: "${standin.url}" }`,
    ...(args.sidecar
      ? [
          `tls: { cert: "${join(work, 'server.pem')}", key: "${join(work, 'server-key.pem')}", clientAuth: request, truststore: "${join(work, 'ca.pem')}" }`,
          `auth: { order: [mtls, basic], mtls: { ouAsRoles: false, roles: { flink-operator: [operator-cert] } }, ${basicAuth} }`,
          'authz: { roles: { ops: admin, view: viewer }, profiles: { operator-cert: kubernetes-operator } }',
        ]
      : [`auth: { ${basicAuth} }`, 'authz: { roles: { ops: admin, view: viewer } }']),
    '',
  ].join('\n'),
)
if (args.sidecar) setGlobalDispatcher(new Agent({ connect: { ca: pem('ca.pem') } }))
const proxy: ChildProcess = spawn(
  process.execPath,
  [
    ...args['node-flag'],
    'dist/main.js',
    'serve',
    '--config',
    join(work, 'flink-guard.yaml'),
    '--log-level',
    'warn',
  ],
  { stdio: ['ignore', 'ignore', 'inherit'] },
)
process.on('exit', () => proxy.kill('SIGKILL'))
const url = `${args.sidecar ? 'https' : 'http'}://127.0.0.1:${PORT}`
for (let i = 0; ; i += 1) {
  try {
    await (await request(`http://127.0.0.1:${ADMIN_PORT}/readyz`)).body.dump()
    break
  } catch {
    if (i > 150) throw new Error('flink-guard did not start')
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`
const OPS = basic('ops', 'ops-pw')
const VIEW = basic('view', 'view-pw')
const counts = { requests: 0, unexpected: 0, byKind: {} as Record<string, Record<string, number>> }
const latencies: number[] = []

/** One request; an answer outside `expected` (or a transport error) counts as unexpected. */
async function call(
  kind: string,
  expected: readonly number[],
  options: Parameters<typeof request>[1] & { path: string },
): Promise<string> {
  const started = performance.now()
  let outcome: string
  let text = ''
  try {
    const { path, ...rest } = options
    const response = await request(`${url}${path}`, rest)
    text = await response.body.text()
    outcome = String(response.statusCode)
    if (!expected.includes(response.statusCode)) counts.unexpected += 1
  } catch (err) {
    outcome = (err as NodeJS.ErrnoException).code ?? 'error'
    counts.unexpected += 1
  }
  counts.requests += 1
  if (kind === 'poll') latencies.push(performance.now() - started)
  const byKind = counts.byKind[kind] ?? {}
  counts.byKind[kind] = byKind
  byKind[outcome] = (byKind[outcome] ?? 0) + 1
  return text
}

let running = true
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const loops: Promise<void>[] = []
const loop = (body: () => Promise<void>) =>
  loops.push(
    (async () => {
      while (running) await body()
    })(),
  )

// Dashboard: keep-alive, the login reused (the cache), the routes the overview page polls.
for (let i = 0; i < 10; i += 1) {
  const dispatcher = new Agent({ connections: 2, connect: args.sidecar ? { ca: pem('ca.pem') } : {} })
  const routes = ['/overview', '/jobs/overview', '/taskmanagers', '/config']
  loop(async () => {
    for (const path of routes)
      await call('poll', [200], { path, headers: { authorization: OPS }, dispatcher })
    await sleep(1_000)
  })
}
// Uploads of a 256 KiB jar, then its deletion, so the stand-in's disk stays flat.
// It starts as a ZIP file does: limits.uploads.jarFilesOnly refuses anything else.
const jar = Buffer.alloc(256 * 1024, 7)
jar.write('PK\u0003\u0004', 0, 'latin1')
const multipartHead = Buffer.from(
  '--soak\r\nContent-Disposition: form-data; name="jarfile"; filename="soak.jar"\r\n' +
    'Content-Type: application/x-java-archive\r\n\r\n',
)
const multipartTail = Buffer.from('\r\n--soak--\r\n')
const multipart = Buffer.concat([multipartHead, jar, multipartTail])
const uploadAndDelete = async (body: Buffer | Readable, kind = 'upload') => {
  const text = await call(kind, [200], {
    path: '/jars/upload',
    method: 'POST',
    headers: { authorization: OPS, 'content-type': 'multipart/form-data; boundary=soak' },
    body,
  })
  const filename = (JSON.parse(text || '{}') as { filename?: string }).filename
  if (filename !== undefined) {
    const id = filename.slice(filename.lastIndexOf('/') + 1)
    await call('delete', [200], { path: `/jars/${id}`, method: 'DELETE', headers: { authorization: OPS } })
  }
}
loop(async () => {
  await uploadAndDelete(multipart)
  await sleep(1_000)
})

if (args.sidecar) {
  // The operator: a new TLS connection with its client certificate for every call, as its RestClusterClient
  // is made anew per observation; at most five calls a second, far more than one FlinkDeployment's reconcile loop.
  const operatorConnect = { ca: pem('ca.pem'), cert: pem('client.pem'), key: pem('client-key.pem') }
  const jobs = JSON.parse(
    await call('operator', [200], {
      path: '/jobs/overview',
      dispatcher: new Agent({ connect: operatorConnect }),
    }),
  ) as { jobs: { jid: string }[] }
  const jobId = jobs.jobs[0]!.jid
  const operatorRoutes = ['/jobs/overview', `/jobs/${jobId}`, '/config']
  loop(async () => {
    for (const path of operatorRoutes) {
      const dispatcher = new Agent({ connect: operatorConnect })
      await call('operator', [200], { path, headers: { connection: 'close' }, dispatcher })
      await dispatcher.close()
      await sleep(200)
    }
  })
  // One 1 GiB jar, streamed in 1 MiB chunks (never held in memory), 20 s in.
  loops.push(
    (async () => {
      await sleep(20_000)
      const chunk = Buffer.alloc(1024 * 1024, 7)
      chunk.write('PK\u0003\u0004', 0, 'latin1')
      async function* body() {
        yield multipartHead
        for (let i = 0; i < 1024 && running; i += 1) yield chunk
        yield multipartTail
      }
      await uploadAndDelete(Readable.from(body()), 'upload-1GiB')
    })(),
  )
} else {
  // CLI: a new connection per call.
  loop(async () => {
    await call('cli', [200], { path: '/jobs/overview', headers: { authorization: OPS, connection: 'close' } })
    await sleep(200)
  })
  // Denials: a viewer uploading (refused at its headers).
  loop(async () => {
    await call('denied', [403], {
      path: '/jars/upload',
      method: 'POST',
      headers: { authorization: VIEW, 'content-type': 'multipart/form-data; boundary=soak' },
      body: multipart,
    })
    await sleep(500)
  })
  // Bad logins from rotating addresses: 401, then 429 once an address or the name is locked out.
  let badAddress = 0
  loop(async () => {
    badAddress = (badAddress + 1) % 200
    const dispatcher = new Agent({ connect: connectFrom(`127.0.20.${badAddress + 1}`) })
    await call('bad-login', [401, 429], {
      path: '/overview',
      headers: { authorization: basic(`guess-${Math.floor(Math.random() * 1e6)}`, 'x') },
      dispatcher,
    })
    await dispatcher.close()
    await sleep(100)
  })
}

interface Sample {
  atSec: number
  rssMb: number
  heapMb: number
  /** Where the RSS is: V8's committed heap (and its young generation), memory outside it, the kernel's split. */
  heapTotalMb: number
  newSpaceMb: number
  /**
   * RSS without V8's young generation, which V8 grows and shrinks with the allocation rate (4 to 33.6 MB here),
   * so two samples of RSS differ by up to ~30 MB with nothing kept: what stays is this.
   */
  rssLessYoungMb: number
  externalMb: number
  anonMb: number
  fileMb: number
  fds: number
  eventLoopP99Ms: number
  requests: number
  unexpected: number
  pollP99Ms: number
}
const samples: Sample[] = []
const metric = (text: string, name: string, labels = '(?:\\{[^}]*\\})?') =>
  Number(new RegExp(`^${name}${labels} (\\S+)$`, 'm').exec(text)?.[1])
const mb = (bytes: number) => Math.round(bytes / 1e5) / 10
/** The proxy's anonymous and file-backed resident memory, from the kernel (kB in smaps_rollup). */
const residentSplit = () => {
  const text = readFileSync(`/proc/${proxy.pid}/smaps_rollup`, 'utf8')
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(text)?.[1]) * 1024
  return { anonMb: mb(kb('Anonymous')), fileMb: mb(kb('Rss') - kb('Anonymous')) }
}
const loadAtStart = Math.round(loadavg()[0]! * 100) / 100
const started = Date.now()
const cpuAtStart = cpuSecondsOf(proxy.pid!)
while (Date.now() - started < DURATION_MS) {
  await sleep(SAMPLE_MS)
  const text = await (await request(`http://127.0.0.1:${ADMIN_PORT}/metrics`)).body.text()
  const window = latencies.splice(0).sort((a, b) => a - b)
  const rss = metric(text, 'process_resident_memory_bytes')
  const newSpace = metric(text, 'nodejs_heap_space_size_total_bytes', '\\{space="new"\\}')
  samples.push({
    atSec: Math.round((Date.now() - started) / 1000),
    rssMb: mb(rss),
    heapMb: mb(metric(text, 'nodejs_heap_size_used_bytes')),
    heapTotalMb: mb(metric(text, 'nodejs_heap_size_total_bytes')),
    newSpaceMb: mb(newSpace),
    rssLessYoungMb: mb(rss - newSpace),
    externalMb: mb(metric(text, 'nodejs_external_memory_bytes')),
    ...residentSplit(),
    fds: metric(text, 'process_open_fds'),
    eventLoopP99Ms: Math.round(metric(text, 'nodejs_eventloop_lag_p99_seconds') * 1e4) / 10,
    requests: counts.requests,
    unexpected: counts.unexpected,
    pollP99Ms: Math.round((window[Math.floor(window.length * 0.99)] ?? 0) * 10) / 10,
  })
  console.error(JSON.stringify(samples.at(-1)))
}
running = false
await Promise.allSettled(loops)

// After warm-up: the first fifth of the run (at least one sample) is left out of the drift figures.
const warm = samples.slice(Math.max(1, Math.floor(samples.length / 5)))
const drift = (key: keyof Sample) => {
  const first = warm[0]![key] as number
  const last = warm.at(-1)![key] as number
  return { afterWarmUp: first, end: last, changePct: Math.round(((last - first) / first) * 1000) / 10 }
}
// The proxy's CPU time (utime + stime, clock ticks of 10 ms) over the run: its average use in cores.
const averageCores =
  Math.round(((cpuSecondsOf(proxy.pid!) - cpuAtStart) / ((Date.now() - started) / 1000)) * 1000) / 1000
// The kernel's high-water mark of the proxy's resident set: the peak between samples too.
const peakRssMb =
  Math.round(
    Number(/^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${proxy.pid}/status`, 'utf8'))?.[1]) / 102.4,
  ) / 10
const report = {
  minutes: Number(args.minutes),
  shape: args.sidecar ? 'sidecar' : 'mixed',
  // The machine is shared: the 1-minute load average at the start and the end says how busy it was.
  loadAverage: { start: loadAtStart, end: Math.round(loadavg()[0]! * 100) / 100 },
  peakRssMiB: peakRssMb,
  averageCores,
  requests: counts.requests,
  unexpected: counts.unexpected,
  byKind: counts.byKind,
  start: samples[0],
  end: samples.at(-1),
  rss: drift('rssMb'),
  fds: drift('fds'),
  heap: drift('heapMb'),
  heapTotal: drift('heapTotalMb'),
  rssLessYoung: drift('rssLessYoungMb'),
  newSpace: drift('newSpaceMb'),
  external: drift('externalMb'),
  anonymous: drift('anonMb'),
  fileBacked: drift('fileMb'),
  eventLoopP99Ms: drift('eventLoopP99Ms'),
  pollP99Ms: drift('pollP99Ms'),
  samples,
}
const stamp = new Date().toISOString().replaceAll(':', '-')
const dir = join(import.meta.dirname, 'results')
mkdirSync(dir, { recursive: true })
writeFileSync(join(dir, `soak-${stamp}.json`), `${JSON.stringify(report, null, 2)}\n`)
writeFileSync(join(dir, `soak-${stamp}.svg`), chart(samples))
const { samples: _omitted, ...summary } = report
console.log(JSON.stringify(summary, null, 2))
await standin.close()
process.exit(0)

/** A process's CPU time so far: utime + stime from /proc/<pid>/stat, in clock ticks of 10 ms. */
function cpuSecondsOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
  return (Number(fields[11]) + Number(fields[12])) / 100
}

/** Small line charts over time: RSS and its young generation, heap, open fds, event-loop delay p99. */
function chart(points: readonly Sample[]): string {
  const series: [keyof Sample, string][] = [
    ['rssMb', 'RSS (MB)'],
    ['newSpaceMb', "V8's young generation (MB)"],
    ['rssLessYoungMb', 'RSS without the young generation (MB)'],
    ['heapMb', 'heap used (MB)'],
    ['fds', 'open fds'],
    ['eventLoopP99Ms', 'event-loop delay p99 (ms)'],
  ]
  const width = 560
  const height = 120
  const end = points.at(-1)?.atSec ?? 1
  const panels = series.map(([key, label], index) => {
    const values = points.map((point) => point[key] as number)
    const max = Math.max(...values, 1) * 1.1
    const top = 30 + index * (height + 30)
    const path = points
      .map((point, i) => {
        const x = 50 + (point.atSec / end) * width
        const y = top + height - ((point[key] as number) / max) * height
        return `${i === 0 ? 'M' : 'L'}${x.toFixed(1)},${y.toFixed(1)}`
      })
      .join(' ')
    return [
      `<text x="50" y="${top - 6}">${label}: ${values[0]} → ${values.at(-1)} (max ${Math.max(...values)})</text>`,
      `<rect x="50" y="${top}" width="${width}" height="${height}" fill="none" stroke="#ccc"/>`,
      `<path d="${path}" fill="none" stroke="#2f6fb0" stroke-width="1.5"/>`,
      `<text x="44" y="${top + 10}" text-anchor="end">${Math.round(max)}</text>`,
      `<text x="44" y="${top + height}" text-anchor="end">0</text>`,
    ].join('')
  })
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width + 80}" height="${30 + series.length * (height + 30)}" font-family="sans-serif" font-size="12">
<text x="8" y="14" font-weight="bold">flink-guard soak, ${Math.round(end / 60)} min (x: time)</text>
${panels.join('\n')}
</svg>
`
}
