import { isIP } from 'node:net'

/**
 * The sidecar shape: Flink binds its REST endpoint to loopback (`rest.bind-address: 127.0.0.1`) and flink-guard
 * binds the pod IP on the same port, so Flink's own `<name>-rest` Service, the Kubernetes operator and every
 * client reach flink-guard unchanged. Two binds collide when one of them is a wildcard: Linux refuses 0.0.0.0:P
 * while 127.0.0.1:P is bound (EADDRINUSE), whichever process starts second fails. These checks refuse the
 * configurations that can only collide or loop.
 */

/** Addresses Node binds as "every address" (IPv4 and IPv6 spellings). */
const WILDCARDS = new Set(['0.0.0.0', '::', '::0', '0:0:0:0:0:0:0:0', '[::]'])

/** A URL's `[::1]` is Node's `::1`; `localhost` stands for the loopback address it resolves to first. */
function bare(host: string): string {
  const unbracketed = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host
  const lower = unbracketed.toLowerCase()
  return lower === 'localhost' ? '127.0.0.1' : lower
}

function isLoopback(host: string): boolean {
  const address = bare(host)
  return address === '::1' || (isIP(address) === 4 && address.startsWith('127.'))
}

function portOf(url: URL): number {
  if (url.port !== '') return Number(url.port)
  return url.protocol === 'https:' ? 443 : 80
}

/** Problems of `listen.host`/`listen.port` against the upstream Flink it would share a host with. */
export function sharedPortProblems(listen: { host?: unknown; port?: unknown }, upstream: URL): string[] {
  if (typeof listen.host !== 'string' || typeof listen.port !== 'number' || listen.port === 0) return []
  const upstreamHost = upstream.hostname
  if (!isLoopback(upstreamHost) || portOf(upstream) !== listen.port) return []
  if (WILDCARDS.has(listen.host)) {
    return [
      `"listen.host" must not be a wildcard (${listen.host}) on Flink's own port ${listen.port}: the bind collides ` +
        `with Flink's ${upstreamHost}:${listen.port}; listen on the pod IP instead (e.g. \${env:POD_IP})`,
    ]
  }
  if (bare(listen.host) === bare(upstreamHost)) {
    return [
      `"listen.host" ${listen.host}:${listen.port} is "upstream.url" itself: flink-guard would forward to itself; ` +
        'give Flink and flink-guard different addresses or ports',
    ]
  }
  return []
}
