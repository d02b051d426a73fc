/**
 * Where a proxy's CPU time goes, from a V8 profile written by `npm run bench -- --profile "<case>"`: self time
 * summed by who owns the code (Node's TLS, HTTP, streams; Fastify; undici; flink-guard file by file; …), as
 * shares of the busy time, idle left out.
 *   tsx bench/profile-summary.ts bench/results/profiles/<file>.cpuprofile [--top 25]
 */
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  children?: number[]
}
interface Profile {
  nodes: ProfileNode[]
  samples: number[]
  timeDeltas: number[]
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { top: { type: 'string', default: '25' } },
})
const profile = JSON.parse(readFileSync(positionals[0]!, 'utf8')) as Profile

/** Self time in µs per node id: each sample's delta belongs to the node it caught. */
const selfUs = new Map<number, number>()
profile.samples.forEach((id, index) => {
  selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[index] ?? 0))
})

const OWNERS: [RegExp, string][] = [
  [/node_modules\/(?:fastify|find-my-way|avvio|@fastify\/[^/]+|fast-querystring|toad-cache)\//, 'Fastify'],
  // undici's HTTP parser (llhttp) is WebAssembly.
  [/node_modules\/undici\/|^wasm:\/\//, 'undici'],
  [/node_modules\/pino/, 'pino'],
  [/node_modules\/prom-client\//, 'prom-client'],
  [/node_modules\/jose\//, 'jose'],
  [/node_modules\//, 'other packages'],
  [/^node:(?:_tls|tls)|internal\/tls\//, 'Node TLS'],
  [/^node:(?:_http|http)|internal\/http/, 'Node HTTP'],
  [/^node:net$|internal\/(?:net|stream_base_commons)/, 'Node sockets'],
  [/internal\/streams\//, 'Node streams'],
  [/internal\/(?:timers|process\/task_queues|async_hooks)|^node:timers/, 'Node timers and ticks'],
  [/^node:|internal\//, 'Node, other'],
]

/** flink-guard's compiled modules, this build's or a --baseline one's (not a package's own dist/ folder). */
const OWN_DIST = /^file:\/\/(?!.*\/node_modules\/).*\/dist\/(.+)\.js$/
const ownFile = (url: string) => OWN_DIST.exec(url)?.[1] ?? null

function ownerOf(node: ProfileNode): string {
  const { url, functionName } = node.callFrame
  if (url === '') {
    // Native frames: V8 names the collector and the idle loop; the rest is native work (writev, crypto, …)
    // done on behalf of the JavaScript above it.
    if (functionName === '(garbage collector)' || functionName === '(idle)') return functionName
    if (functionName === '(program)') return '(program: native, outside JavaScript)'
    return `native: ${functionName}`
  }
  const ours = ownFile(url)
  if (ours !== null) return `flink-guard: ${ours}`
  return OWNERS.find(([pattern]) => pattern.test(url))?.[1] ?? `other: ${url}`
}

const byOwner = new Map<string, number>()
for (const node of profile.nodes) {
  const us = selfUs.get(node.id) ?? 0
  if (us === 0) continue
  const owner = ownerOf(node)
  byOwner.set(owner, (byOwner.get(owner) ?? 0) + us)
}
const busyUs = [...byOwner].reduce((sum, [owner, us]) => (owner === '(idle)' ? sum : sum + us), 0)
const rows = [...byOwner]
  .filter(([owner]) => owner !== '(idle)')
  .sort((a, b) => b[1] - a[1])
  .slice(0, Number(values.top))
console.log(`busy ${(busyUs / 1e6).toFixed(2)} s of ${(profile.samples.length / 1e3).toFixed(0)}k samples\n`)
console.log('| owner | share of busy time |\n|---|---|')
for (const [owner, us] of rows) console.log(`| ${owner} | ${((100 * us) / busyUs).toFixed(1)}% |`)
// Inclusive time of flink-guard's functions: a sample counts for every one of them on its stack, once, so a
// hook's row includes what it calls in Fastify, jose or Node on its behalf, and rows overlap (a hook's row
// holds the rows of the functions it calls). Anonymous functions are told apart by their line.
const parentOf = new Map<number, ProfileNode>()
const nodeById = new Map<number, ProfileNode>()
for (const node of profile.nodes) {
  nodeById.set(node.id, node)
  for (const child of node.children ?? []) parentOf.set(child, node)
}
const inclusiveUs = new Map<string, number>()
profile.samples.forEach((id, index) => {
  const seen = new Set<string>()
  for (let node = nodeById.get(id); node !== undefined; node = parentOf.get(node.id)) {
    const ours = ownFile(node.callFrame.url)
    const { functionName, lineNumber } = node.callFrame
    // V8 counts lines from 0.
    if (ours !== null) seen.add(`${ours}:${lineNumber + 1} ${functionName || '(anonymous)'}`)
  }
  for (const frame of seen)
    inclusiveUs.set(frame, (inclusiveUs.get(frame) ?? 0) + (profile.timeDeltas[index] ?? 0))
})
console.log(
  '\n| flink-guard function (compiled file:line), with what it calls | share of busy time |\n|---|---|',
)
for (const [frame, us] of [...inclusiveUs].sort((a, b) => b[1] - a[1]).slice(0, Number(values.top)))
  console.log(`| ${frame} | ${((100 * us) / busyUs).toFixed(1)}% |`)
const ownTotal = [...byOwner].reduce(
  (sum, [owner, us]) => (owner.startsWith('flink-guard') ? sum + us : sum),
  0,
)
console.log(`\nflink-guard's own code, self time in all: ${((100 * ownTotal) / busyUs).toFixed(1)}%`)
