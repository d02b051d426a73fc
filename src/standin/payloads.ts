import type { ClusterState, StandinJob } from './state.js'

/**
 * Response bodies shaped after the schemas in docs/flink-rest/rest_v1_dispatcher.yml (a test validates
 * them against the spec). Values are plausible for a small session cluster, not real.
 */

export const FLINK_VERSION = '1.20.0'
const FLINK_REVISION = 'b1fe7b4 @ 2024-07-26T18:41:05+02:00'
const TASK_MANAGER_ID = '7f8e2b1a4c6d9e0f1a2b3c4d5e6f7a8b'

export const dashboardConfig = () => ({
  'refresh-interval': 3000,
  'timezone-name': 'Coordinated Universal Time',
  'timezone-offset': 0,
  'flink-version': FLINK_VERSION,
  'flink-revision': FLINK_REVISION,
  features: { 'web-submit': true, 'web-cancel': true, 'web-rescale': false, 'web-history': false },
})

/** Flink leaves out taskmanagers-blocked, slots-free-and-blocked and a TaskManager's blocked while they are
 * 0 / false (@JsonInclude NON_DEFAULT); nothing is ever blocked here. */
export function clusterOverview(state: ClusterState) {
  const jobs = [...state.jobs.values()]
  const count = (status: string) => jobs.filter((job) => job.state === status).length
  return {
    taskmanagers: 1,
    'slots-total': 4,
    'slots-available': 4 - count('RUNNING'),
    'jobs-running': count('RUNNING'),
    'jobs-finished': count('FINISHED'),
    'jobs-cancelled': count('CANCELED'),
    'jobs-failed': count('FAILED'),
    'flink-version': FLINK_VERSION,
    'flink-commit': FLINK_REVISION.split(' ')[0],
  }
}

export const jobIds = (state: ClusterState) => ({
  jobs: [...state.jobs.values()].map((job) => ({ id: job.id, status: job.state })),
})

const duration = (job: StandinJob, now: number) => (job.endTime === -1 ? now : job.endTime) - job.startTime

function taskCounts(job: StandinJob): Record<string, number> {
  const counts: Record<string, number> = {
    created: 0,
    scheduled: 0,
    deploying: 0,
    running: 0,
    finished: 0,
    canceling: 0,
    canceled: 0,
    failed: 0,
    reconciling: 0,
    initializing: 0,
    pending: 0,
    total: 2,
  }
  const key = job.state === 'RUNNING' ? 'running' : job.state === 'CANCELED' ? 'canceled' : 'finished'
  counts[key] = 2
  return counts
}

export const jobsOverview = (state: ClusterState, now = Date.now()) => ({
  jobs: [...state.jobs.values()].map((job) => ({
    jid: job.id,
    name: job.name,
    state: job.state,
    'start-time': job.startTime,
    'end-time': job.endTime,
    duration: duration(job, now),
    'last-modification': job.endTime === -1 ? job.startTime : job.endTime,
    tasks: taskCounts(job),
  })),
})

export const jobDetails = (job: StandinJob, now = Date.now()) => ({
  jid: job.id,
  name: job.name,
  isStoppable: false,
  state: job.state,
  'start-time': job.startTime,
  'end-time': job.endTime,
  duration: duration(job, now),
  maxParallelism: -1,
  now,
  timestamps: { CREATED: job.startTime - 50, RUNNING: job.startTime },
  vertices: [],
  'status-counts': taskCounts(job),
  plan: { jid: job.id, name: job.name, type: 'STREAMING', nodes: [] },
})

export const jarList = (state: ClusterState, address: string) => ({
  address,
  files: [...state.jars.values()].map((jar) => ({
    id: jar.id,
    name: jar.name,
    uploaded: jar.uploaded,
    entry: [{ name: 'org.example.Job', description: 'No description provided' }],
  })),
})

export const taskManagers = () => ({
  taskmanagers: [
    {
      id: TASK_MANAGER_ID,
      path: 'pekko.tcp://flink@127.0.0.1:6122/user/rpc/taskmanager_0',
      dataPort: 6121,
      jmxPort: -1,
      timeSinceLastHeartbeat: Date.now(),
      slotsNumber: 4,
      freeSlots: 2,
      totalResource: {
        cpuCores: 4,
        taskHeapMemory: 1024,
        taskOffHeapMemory: 0,
        managedMemory: 512,
        networkMemory: 128,
        extendedResources: {},
      },
      freeResource: {
        cpuCores: 2,
        taskHeapMemory: 512,
        taskOffHeapMemory: 0,
        managedMemory: 256,
        networkMemory: 64,
        extendedResources: {},
      },
      hardware: {
        cpuCores: 2,
        physicalMemory: 25_000_000_000,
        freeMemory: 1_073_741_824,
        managedMemory: 536_870_912,
      },
      memoryConfiguration: {
        frameworkHeap: 134_217_728,
        taskHeap: 1_073_741_824,
        frameworkOffHeap: 134_217_728,
        taskOffHeap: 0,
        networkMemory: 134_217_728,
        managedMemory: 536_870_912,
        jvmMetaspace: 268_435_456,
        jvmOverhead: 201_326_592,
        totalFlinkMemory: 2_013_265_920,
        totalProcessMemory: 2_483_027_968,
      },
    },
  ],
})

export const jobManagerConfig = () => [
  { key: 'jobmanager.rpc.address', value: 'localhost' },
  { key: 'rest.bind-address', value: '127.0.0.1' },
  { key: 'rest.port', value: '8081' },
  { key: 'taskmanager.numberOfTaskSlots', value: '4' },
  { key: 'state.checkpoints.dir', value: 's3://flink-checkpoints/standin' },
  { key: 's3.secret-key', value: '******' },
]

/** Fake log files: the names the list endpoint shows, the only names the file endpoint serves. */
export const LOG_FILES: ReadonlyMap<string, string> = new Map([
  [
    'jobmanager.log',
    '2026-11-22 12:00:00,000 INFO  org.apache.flink.runtime.entrypoint.ClusterEntrypoint [] - Starting StandaloneSessionClusterEntrypoint.\n',
  ],
  ['jobmanager.out', ''],
  ['jobmanager.err', ''],
])

export const logList = () => ({
  logs: [...LOG_FILES].map(([name, text]) => ({
    name,
    size: Buffer.byteLength(text),
    mtime: 1_763_812_800_000,
  })),
})

export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Apache Flink Web Dashboard</title></head>
<body>
<h1>Apache Flink Web Dashboard</h1>
<p>This is flink-guard's Flink REST stand-in, not Flink. Cluster overview, fetched from <code>overview</code>:</p>
<pre id="overview">loading…</pre>
<script>
fetch('overview', { headers: { 'X-Requested-With': 'XMLHttpRequest' } })
  .then((response) => response.json())
  .then((overview) => { document.getElementById('overview').textContent = JSON.stringify(overview, null, 2) })
  .catch((error) => { document.getElementById('overview').textContent = String(error) })
</script>
</body>
</html>
`
