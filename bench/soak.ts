/**
 * The soak (npm run soak): mixed traffic against flink-guard (dist/main.js, a child process) in front of the
 * stand-in for a bounded time, sampling the proxy's RSS, heap, open file descriptors and event-loop delay
 * (its own /metrics) and the clients' unexpected answers. Measures; asserts nothing.
 *
 *   npm run soak -- [--minutes 10] [--sample-sec 5]
 *
 * Traffic: dashboard-like polling (10 keep-alive clients, a cached Basic login, 4 routes a second each),
 * CLI-like calls on a new connection each, small jar uploads followed by their deletion, denials (a viewer
 * uploading), and bad logins from rotating loopback addresses. Writes bench/results/soak-<time>.json and
 * an SVG chart beside it; prints start and end figures.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { hashSync } from '@node-rs/bcrypt'
import { Agent, request } from 'undici'
import { startStandin } from '../src/standin/server.js'
import { connectFrom } from '../test/integration/support/local-address.js'

const { values: args } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    'sample-sec': { type: 'string', default: '5' },
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
writeFileSync(
  join(work, 'flink-guard.yaml'),
  [
    `listen: { host: 127.0.0.1, port: ${PORT} }`,
    `admin: { port: ${ADMIN_PORT} }`,
    `upstream: { url: "${standin.url}" }`,
    `auth: { basic: { htpasswd: "${join(work, 'users.htpasswd')}", users: { ops: [ops], view: [view] } } }`,
    'authz: { roles: { ops: admin, view: viewer } }',
    '',
  ].join('\n'),
)
const proxy: ChildProcess = spawn(
  process.execPath,
  ['dist/main.js', 'serve', '--config', join(work, 'flink-guard.yaml'), '--log-level', 'warn'],
  { stdio: ['ignore', 'ignore', 'inherit'] },
)
process.on('exit', () => proxy.kill('SIGKILL'))
const url = `http://127.0.0.1:${PORT}`
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
  const dispatcher = new Agent({ connections: 2 })
  const routes = ['/overview', '/jobs/overview', '/taskmanagers', '/config']
  loop(async () => {
    for (const path of routes)
      await call('poll', [200], { path, headers: { authorization: OPS }, dispatcher })
    await sleep(1_000)
  })
}
// CLI: a new connection per call.
loop(async () => {
  await call('cli', [200], { path: '/jobs/overview', headers: { authorization: OPS, connection: 'close' } })
  await sleep(200)
})
// Uploads of a 256 KiB jar, then its deletion, so the stand-in's disk stays flat.
// It starts as a ZIP file does: limits.uploads.jarFilesOnly refuses anything else.
const jar = Buffer.alloc(256 * 1024, 7)
jar.write('PK\u0003\u0004', 0, 'latin1')
const multipart = Buffer.concat([
  Buffer.from(
    '--soak\r\nContent-Disposition: form-data; name="jarfile"; filename="soak.jar"\r\n' +
      'Content-Type: application/x-java-archive\r\n\r\n',
  ),
  jar,
  Buffer.from('\r\n--soak--\r\n'),
])
loop(async () => {
  const text = await call('upload', [200], {
    path: '/jars/upload',
    method: 'POST',
    headers: { authorization: OPS, 'content-type': 'multipart/form-data; boundary=soak' },
    body: multipart,
  })
  const filename = (JSON.parse(text || '{}') as { filename?: string }).filename
  if (filename !== undefined) {
    const id = filename.slice(filename.lastIndexOf('/') + 1)
    await call('delete', [200], { path: `/jars/${id}`, method: 'DELETE', headers: { authorization: OPS } })
  }
  await sleep(1_000)
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

interface Sample {
  atSec: number
  rssMb: number
  heapMb: number
  fds: number
  eventLoopP99Ms: number
  requests: number
  unexpected: number
  pollP99Ms: number
}
const samples: Sample[] = []
const metric = (text: string, name: string) =>
  Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text)?.[1])
const started = Date.now()
while (Date.now() - started < DURATION_MS) {
  await sleep(SAMPLE_MS)
  const text = await (await request(`http://127.0.0.1:${ADMIN_PORT}/metrics`)).body.text()
  const window = latencies.splice(0).sort((a, b) => a - b)
  samples.push({
    atSec: Math.round((Date.now() - started) / 1000),
    rssMb: Math.round(metric(text, 'process_resident_memory_bytes') / 1e5) / 10,
    heapMb: Math.round(metric(text, 'nodejs_heap_size_used_bytes') / 1e5) / 10,
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
const report = {
  minutes: Number(args.minutes),
  requests: counts.requests,
  unexpected: counts.unexpected,
  byKind: counts.byKind,
  start: samples[0],
  end: samples.at(-1),
  rss: drift('rssMb'),
  fds: drift('fds'),
  heap: drift('heapMb'),
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

/** Four small line charts over time: RSS, heap, open fds, event-loop delay p99. */
function chart(points: readonly Sample[]): string {
  const series: [keyof Sample, string][] = [
    ['rssMb', 'RSS (MB)'],
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
