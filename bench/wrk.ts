import { execFileSync } from 'node:child_process'
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
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
  /** CPU time the server under test spent per request (user + system, its whole process tree): the figure a
   * busy machine disturbs least, since it counts work done rather than wall-clock throughput. */
  readonly cpuUsPerRequest: number | null
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
  options: { durationSec: number; connections: number; core: string; serverPid: number | null },
): WrkRun {
  const cpuBefore = options.serverPid === null ? 0 : cpuSecondsOfTree(options.serverPid)
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
  const cpuSpent = options.serverPid === null ? null : cpuSecondsOfTree(options.serverPid) - cpuBefore
  return {
    requestsPerSec: report.requests / (report.durationUs / 1e6),
    cpuUsPerRequest: cpuSpent === null || report.requests === 0 ? null : (cpuSpent * 1e6) / report.requests,
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
    cpuUsPerRequest: runs.some((run) => run.cpuUsPerRequest === null)
      ? null
      : middle([...runs], (run) => run.cpuUsPerRequest!),
    p50Ms: middle([...runs], (run) => run.p50Ms),
    p99Ms: middle([...runs], (run) => run.p99Ms),
    errors: runs.reduce((sum, run) => sum + run.errors, 0),
  }
}

const CLOCK_TICKS_PER_SEC = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim())

/** utime + stime of a process and all its descendants (nginx's workers), from /proc/<pid>/stat. */
function cpuSecondsOfTree(root: number): number {
  const stats = new Map<number, { parent: number; ticks: number }>()
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      // Fields after the command (which may hold spaces) start after the last ')'.
      const fields = readFileSync(`/proc/${entry}/stat`, 'utf8').split(')').at(-1)!.trim().split(' ')
      stats.set(Number(entry), { parent: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]) })
    } catch {}
  }
  let ticks = 0
  const inTree = (pid: number): boolean =>
    pid === root || (stats.has(pid) && pid > 1 && inTree(stats.get(pid)!.parent))
  for (const [pid, stat] of stats) if (inTree(pid)) ticks += stat.ticks
  return ticks / CLOCK_TICKS_PER_SEC
}
