import { isIP } from 'node:net'
import { compileNetworks, type NetworkList } from '../../authz/networks.js'

/**
 * Where the gateway may connect on a ResourceManager's word. The RM reports what the application master
 * registered, and the application master runs user code: without this list, any YARN user could point
 * flink-guard (and the identity headers and client certificate it carries) at any host and port.
 */
export interface AddressAllowlist {
  allows(host: string, port: number): boolean
}

export function compileAllowlist(hosts: readonly string[], ports: readonly string[]): AddressAllowlist {
  const exact = new Set<string>()
  const suffixes: string[] = []
  const cidrs: string[] = []
  for (const entry of hosts) {
    const lower = entry.toLowerCase()
    if (lower.startsWith('*.')) suffixes.push(lower.slice(1))
    else if (lower.includes('/')) cidrs.push(lower)
    else if (isIP(lower) !== 0) cidrs.push(`${lower}/${isIP(lower) === 6 ? 128 : 32}`)
    else exact.add(lower)
  }
  const networks: NetworkList | null = cidrs.length > 0 ? compileNetworks(cidrs) : null
  const ranges = ports.map((range) => {
    const [low, high = low] = range.split('-').map(Number)
    return [low!, high!] as const
  })
  return {
    allows(host, port) {
      if (!Number.isInteger(port) || !ranges.some(([low, high]) => port >= low && port <= high)) return false
      const name = host.toLowerCase()
      // An address is judged by the networks only, a name by the names only (never resolved here: see the docs).
      if (isIP(name) !== 0) return networks?.contains(name) ?? false
      return (
        exact.has(name) || suffixes.some((suffix) => name.endsWith(suffix) && name.length > suffix.length)
      )
    },
  }
}

/** `host:port` as YARN prints amRPCAddress (IPv6 in brackets); null when it is not that. */
export function parseHostPort(address: string): { host: string; port: number } | null {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]+)):([0-9]{1,5})$/.exec(address.trim())
  if (match === null) return null
  const port = Number(match[3])
  if (port < 1 || port > 65_535) return null
  return { host: (match[1] ?? match[2])!, port }
}
