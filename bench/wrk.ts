import { execFileSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** wrk prints its summary for people; this script makes it print the numbers as one JSON line. */
const REPORT_SCRIPT = join(tmpdir(), 'fg-bench-report.lua')
writeFileSync(
  REPORT_SCRIPT,
  `done = function(summary, latency, requests)
  io.write(string.format('{"requests":%d,"durationUs":%d,"errors":%d,"p50Us":%d,"p99Us":%d}\\n',
    summary.requests, summary.duration,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.status + summary.errors.timeout,
    latency:percentile(50), latency:percentile(99)))
end
`,
)

export interface WrkRun {
  readonly requestsPerSec: number
  readonly p50Ms: number
  readonly p99Ms: number
  readonly errors: number
}

export interface CaseResult extends WrkRun {
  readonly name: string
}

export function runWrk(
  url: string,
  headers: Record<string, string>,
  options: { durationSec: number; connections: number; core: string },
): WrkRun {
  const headerArgs = Object.entries(headers).flatMap(([name, value]) => ['-H', `${name}: ${value}`])
  const output = execFileSync(
    'taskset',
    [
      '-c',
      options.core,
      'wrk',
      '-t1',
      `-c${options.connections}`,
      `-d${options.durationSec}s`,
      '-s',
      REPORT_SCRIPT,
      ...headerArgs,
      url,
    ],
    { encoding: 'utf8' },
  )
  const line = output.split('\n').find((text) => text.startsWith('{"requests"'))
  if (line === undefined) throw new Error(`wrk printed no report:\n${output}`)
  const report = JSON.parse(line) as {
    requests: number
    durationUs: number
    errors: number
    p50Us: number
    p99Us: number
  }
  return {
    requestsPerSec: report.requests / (report.durationUs / 1e6),
    p50Ms: report.p50Us / 1000,
    p99Ms: report.p99Us / 1000,
    errors: report.errors,
  }
}

export function median(name: string, runs: readonly WrkRun[]): CaseResult {
  const middle = <T>(values: T[], key: (value: T) => number) =>
    key([...values].sort((a, b) => key(a) - key(b))[Math.floor(values.length / 2)]!)
  return {
    name,
    requestsPerSec: middle([...runs], (run) => run.requestsPerSec),
    p50Ms: middle([...runs], (run) => run.p50Ms),
    p99Ms: middle([...runs], (run) => run.p99Ms),
    errors: runs.reduce((sum, run) => sum + run.errors, 0),
  }
}
