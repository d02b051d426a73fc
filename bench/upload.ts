/**
 * 1 GiB jar upload over TLS, through flink-guard and through NGINX (`proxy_request_buffering off`, when nginx
 * is installed), with a direct upload to the stand-in as the floor: wall time and the proxy's RSS growth.
 * Each proxy runs as its own process, so its memory is measured alone, from /proc/<pid>/status: VmRSS before
 * the upload, VmHWM (peak, reset just before) after it (for NGINX, its worker's).
 *
 *   npm run bench:upload [-- --gib 1 --runs 3]
 */
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { parseArgs, promisify } from 'node:util'
import { startStandin } from '../src/standin/server.js'
import { generateCertificates } from '../src/tls/gen-certs.js'
import { writeMultipartJar } from '../test/integration/support/multipart-file.js'
import { renderPanels } from './chart.js'
import { nginxArgs } from './nginx.js'

const run = promisify(execFile)
const { values } = parseArgs({
  options: { gib: { type: 'string', default: '1' }, runs: { type: 'string', default: '3' } },
})
const bytes = Math.round(Number(values.gib) * 1024 ** 3)
const runs = Number(values.runs)
const work = mkdtempSync(join(tmpdir(), 'fg-bench-upload-'))
const children: ChildProcess[] = []

function memoryKiB(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  return Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1])
}

async function curlUpload(url: string, file: string, boundary: string): Promise<number> {
  const started = process.hrtime.bigint()
  const { stdout } = await run('curl', [
    '-sS',
    '--cacert',
    join(work, 'ca.pem'),
    '-T',
    file,
    '-X',
    'POST',
    '-o',
    '/dev/null',
    '-w',
    '%{http_code}',
    '-H',
    `Content-Type: multipart/form-data; boundary=${boundary}`,
    `${url}/jars/upload`,
  ])
  if (stdout !== '200') throw new Error(`upload to ${url} answered ${stdout}`)
  return Number(process.hrtime.bigint() - started) / 1e9
}

async function waitFor(url: string): Promise<void> {
  for (let attempt = 0; attempt < 150; attempt++) {
    try {
      await run('curl', ['-sS', '-o', '/dev/null', '--cacert', join(work, 'ca.pem'), url])
      return
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }
  throw new Error(`${url} did not come up`)
}

generateCertificates({
  dir: work,
  dns: ['localhost'],
  ips: ['127.0.0.1'],
  password: 'changeit',
  clientName: 'bench',
  validityDays: 2,
})
const standin = await startStandin()

interface Proxy {
  readonly name: string
  readonly url: string
  /** The process whose memory the upload grows. */
  readonly pid: number
}
const proxies: Proxy[] = []

// flink-guard over TLS, the upload path as a deployer takes it (anonymous: this measures streaming).
const config = join(work, 'flink-guard.yaml')
writeFileSync(
  config,
  `listen: { port: 19443 }\nadmin: { port: 19250 }\nupstream: { url: "${standin.url}" }\n` +
    `tls: { cert: ${work}/server.pem, key: ${work}/server-key.pem }\n` +
    'auth: { anonymous: { roles: [bench] } }\nauthz: { roles: { bench: deployer } }\n',
)
const guard = spawn(process.execPath, ['dist/main.js', 'serve', '--config', config, '--log-level', 'warn'], {
  stdio: ['ignore', 'inherit', 'inherit'],
})
children.push(guard)
await waitFor('https://localhost:19443/config')
proxies.push({ name: 'flink-guard TLS', url: 'https://localhost:19443', pid: guard.pid! })

try {
  execFileSync('nginx', ['-v'], { stdio: 'ignore' })
  const conf = nginxArgs(
    join(work, 'nginx'),
    `  server {
    listen 127.0.0.1:19444 ssl;
    ssl_certificate ${work}/server.pem; ssl_certificate_key ${work}/server-key.pem;
    client_max_body_size 0;
    location / {
      proxy_pass ${standin.url}; proxy_http_version 1.1; proxy_set_header Connection "";
      proxy_request_buffering off;
    }
  }`,
  )
  const nginx = spawn('nginx', conf, { stdio: 'inherit' })
  children.push(nginx)
  await waitFor('https://localhost:19444/config')
  const worker = Number(execFileSync('pgrep', ['-P', String(nginx.pid)], { encoding: 'utf8' }).trim())
  proxies.push({
    name: 'NGINX TLS (proxy_request_buffering off)',
    url: 'https://localhost:19444',
    pid: worker,
  })
} catch (err) {
  console.error(`NGINX row skipped (${(err as Error).message}); apt-get install nginx to add it`)
}

console.log(`Generating a ${values.gib} GiB multipart jar body…`)
const body = await writeMultipartJar(bytes)
interface UploadRow {
  readonly run: number
  readonly name: string
  readonly seconds: number
  readonly direct: number
  /** The proxy's memory in MiB: resident before the upload, and its peak during it. */
  readonly rssBeforeMiB?: number
  readonly peakRssMiB?: number
}
const DIRECT = 'direct to the stand-in (HTTP)'
const rows: UploadRow[] = []
try {
  for (let run = 1; run <= runs; run++) {
    const direct = await curlUpload(standin.url, body.path, body.boundary)
    for (const proxy of proxies) {
      // The peak is reset first (clear_refs 5), so it is this upload's, not the start-up's or an earlier one's.
      writeFileSync(`/proc/${proxy.pid}/clear_refs`, '5')
      const before = memoryKiB(proxy.pid, 'VmRSS')
      const seconds = await curlUpload(proxy.url, body.path, body.boundary)
      const peak = memoryKiB(proxy.pid, 'VmHWM')
      rows.push({
        run,
        name: proxy.name,
        seconds,
        direct,
        rssBeforeMiB: before / 1024,
        peakRssMiB: peak / 1024,
      })
    }
    rows.push({ run, name: DIRECT, seconds: direct, direct })
    for (const upload of standin.record.uploads) rmSync(upload.serverPath, { force: true })
    const corrupted = standin.record.uploads.filter((upload) => upload.sha256 !== body.jarSha256)
    if (corrupted.length > 0) throw new Error(`${corrupted.length} uploads arrived with another sha256`)
    standin.record.reset()
  }
} finally {
  for (const child of children) child.kill('SIGTERM')
  await standin.close()
  rmSync(dirname(body.path), { recursive: true, force: true })
  rmSync(work, { recursive: true, force: true })
}
console.log(
  `\n${values.gib} GiB jar upload with curl -T over TLS (Expect: 100-continue), node ${process.version}`,
)
console.log('Every upload arrived with the sha256 it was sent with.\n')
console.log('| run | path | seconds | × direct | RSS before MiB | peak RSS MiB | growth MiB |')
console.log('|---|---|---|---|---|---|---|')
const mib = (value: number | undefined) => value?.toFixed(1) ?? ''
for (const row of rows) {
  const growth = row.peakRssMiB === undefined ? undefined : row.peakRssMiB - row.rssBeforeMiB!
  console.log(
    `| ${row.run} | ${row.name} | ${row.seconds.toFixed(2)} | ${(row.seconds / row.direct).toFixed(2)} | ` +
      `${mib(row.rssBeforeMiB)} | ${mib(row.peakRssMiB)} | ${mib(growth)} |`,
  )
}
// Each path's median throughput over the runs, for the chart (bench:chart draws it beside the other benchmarks).
const throughput = [...new Set(rows.map((row) => row.name))].map((name) => {
  const seconds = rows
    .filter((row) => row.name === name)
    .map((row) => row.seconds)
    .sort((a, b) => a - b)
  return { name, mibPerSec: bytes / 1024 ** 2 / seconds[Math.floor(seconds.length / 2)]! }
})
const stamp = new Date().toISOString().replace(/[:.]/g, '-')
mkdirSync('bench/results', { recursive: true })
writeFileSync(
  `bench/results/upload-${stamp}.json`,
  `${JSON.stringify({ gib: Number(values.gib), runs, node: process.version, throughput, rows }, null, 2)}\n`,
)
writeFileSync(
  `bench/results/upload-${stamp}.svg`,
  renderPanels(`${values.gib} GiB jar upload over TLS (median MiB/s of ${runs})`, [
    { title: '', unit: 'MiB/s', bars: throughput.map(({ name, mibPerSec }) => ({ name, value: mibPerSec })) },
  ]),
)
console.log(`\nwrote bench/results/upload-${stamp}.json and .svg`)
