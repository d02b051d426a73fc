/**
 * 1 GiB jar upload, through flink-guard and directly to the stand-in: wall time and the proxy's RSS growth.
 * The proxy runs as its own process (`flink-guard serve`), so its memory is measured alone, from
 * /proc/<pid>/status: VmRSS before the upload, VmHWM (peak) after it.
 *
 *   npm run bench:upload [-- --gib 1 --runs 3]
 */
import { execFile, spawn } from 'node:child_process'
import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { parseArgs, promisify } from 'node:util'
import { startStandin } from '../src/standin/server.js'
import { writeMultipartJar } from '../test/integration/support/multipart-file.js'

const run = promisify(execFile)
const { values } = parseArgs({
  options: { gib: { type: 'string', default: '1' }, runs: { type: 'string', default: '3' } },
})
const bytes = Math.round(Number(values.gib) * 1024 ** 3)
const runs = Number(values.runs)

function memoryKiB(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  return Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1])
}

async function curlUpload(url: string, file: string, boundary: string): Promise<number> {
  const started = process.hrtime.bigint()
  const { stdout } = await run('curl', [
    '-sS',
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

const standin = await startStandin()
const config = join(tmpdir(), `fg-bench-upload-${process.pid}.yaml`)
// The upload path as a deployer takes it (anonymous here: this measures streaming, not credentials).
writeFileSync(
  config,
  `listen: { port: 0 }\nadmin: { port: 0 }\nupstream: { url: "${standin.url}" }\n` +
    'auth: { anonymous: { roles: [bench] } }\nauthz: { roles: { bench: deployer } }\n',
)
const proxy = spawn(process.execPath, ['dist/main.js', 'serve', '--config', config], {
  stdio: ['ignore', 'pipe', 'inherit'],
})
// The start line (JSON) names the bound proxy URL.
const proxyUrl = await new Promise<string>((resolve, reject) => {
  let out = ''
  proxy.stdout!.on('data', (chunk) => {
    out += chunk
    const started = out.split('\n').find((line) => line.includes('"flink-guard started"'))
    if (started) resolve((JSON.parse(started) as { proxy: string }).proxy)
  })
  proxy.once('exit', (code) => reject(new Error(`flink-guard exited with ${code}`)))
})
proxy.stdout!.resume()

console.log(`Generating a ${values.gib} GiB multipart jar body…`)
const body = await writeMultipartJar(bytes)
const rows: string[] = []
try {
  for (let i = 1; i <= runs; i++) {
    const direct = await curlUpload(standin.url, body.path, body.boundary)
    const before = memoryKiB(proxy.pid!, 'VmRSS')
    const proxied = await curlUpload(proxyUrl, body.path, body.boundary)
    const peak = memoryKiB(proxy.pid!, 'VmHWM')
    for (const upload of standin.record.uploads) rmSync(upload.serverPath, { force: true })
    const ok = standin.record.uploads.every((upload) => upload.sha256 === body.jarSha256)
    standin.record.reset()
    rows.push(
      `| ${i} | ${direct.toFixed(2)} | ${proxied.toFixed(2)} | ${(proxied / direct).toFixed(2)} | ` +
        `${(before / 1024).toFixed(1)} | ${(peak / 1024).toFixed(1)} | ${((peak - before) / 1024).toFixed(1)} | ${ok ? 'yes' : 'NO'} |`,
    )
  }
} finally {
  proxy.kill('SIGTERM')
  await standin.close()
  rmSync(dirname(body.path), { recursive: true, force: true })
  rmSync(config, { force: true })
}
console.log(`\n${values.gib} GiB jar upload with curl -T (Expect: 100-continue), node ${process.version}\n`)
console.log(
  '| run | direct s | via proxy s | ratio | proxy RSS before MiB | proxy peak RSS MiB | growth MiB | sha256 equal |',
)
console.log('|---|---|---|---|---|---|---|---|')
for (const row of rows) console.log(row)
