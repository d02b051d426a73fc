/**
 * One chart of the latest result of each benchmark (npm run bench:chart): keep-alive and full-handshake rows
 * (npm run bench), the per-request connection with resumption offered (bench:resumption) and the 1 GiB upload
 * (bench:upload), each with NGINX beside flink-guard. Reads bench/results/, writes bench/results/overview.svg.
 * Runs nothing itself; a benchmark never run is named as missing.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { type Bar, type Panel, renderPanels } from './chart.js'

const dir = join(import.meta.dirname, 'results')
const files = readdirSync(dir).sort()

/** The newest results file whose name matches (and whose content passes `whole`), parsed. */
function latest<T>(
  pattern: RegExp,
  whole: (data: T) => boolean = () => true,
): { file: string; data: T } | null {
  for (const file of files.filter((name) => pattern.test(name)).reverse()) {
    const data = JSON.parse(readFileSync(join(dir, file), 'utf8')) as T
    if (whole(data)) return { file, data }
  }
  return null
}

const panels: Panel[] = []
const missing: string[] = []
// A full run: one with the NGINX rows (a run of a few --cases has none to compare with).
const forwarding = latest<{ results: { name: string; requestsPerSec: number }[] }>(/^\d.*\.json$/, (data) =>
  data.results.some((result) => result.name.startsWith('NGINX')),
)
if (forwarding) {
  const bars = (keep: (name: string) => boolean): Bar[] =>
    forwarding.data.results
      .filter((result) => keep(result.name))
      .map((result) => ({ name: result.name, value: result.requestsPerSec }))
  const perRequest = (name: string) => name.includes('new connection per request')
  panels.push(
    {
      title: `Keep-alive GET (req/s; ${forwarding.file})`,
      unit: 'req/s',
      bars: bars((name) => !perRequest(name)),
      referenceName: 'NGINX TLS plain forward',
    },
    {
      title: `New connection per request, full handshake (req/s; ${forwarding.file})`,
      unit: 'req/s',
      bars: bars(perRequest),
    },
  )
} else missing.push('npm run bench')
const resumption = latest<{
  rows: { name: string; requestsPerSec: number; resumed: number; full: number }[]
}>(/^resumption-.*\.json$/)
if (resumption) {
  panels.push({
    title: `New connection per request, last session offered (req/s, server-side resumptions; ${resumption.file})`,
    unit: 'req/s',
    bars: resumption.data.rows.map((row) => ({
      name: `${row.name}: ${row.resumed}/${row.resumed + row.full} resumed`,
      value: row.requestsPerSec,
    })),
  })
} else missing.push('npm run bench:resumption')
const upload = latest<{ gib: number; throughput: { name: string; mibPerSec: number }[] }>(/^upload-.*\.json$/)
if (upload) {
  panels.push({
    title: `${upload.data.gib} GiB jar upload over TLS (MiB/s; ${upload.file})`,
    unit: 'MiB/s',
    bars: upload.data.throughput.map((row) => ({ name: row.name, value: row.mibPerSec })),
  })
} else missing.push('npm run bench:upload')

writeFileSync(
  join(dir, 'overview.svg'),
  renderPanels('flink-guard benchmarks, NGINX beside (latest run of each)', panels),
)
console.log(`wrote bench/results/overview.svg (${panels.length} panels)`)
if (missing.length > 0) console.log(`no results yet from: ${missing.join(', ')}`)
