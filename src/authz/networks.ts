import { BlockList, isIP } from 'node:net'

export interface NetworkList {
  /** True when `address` (as a socket reports it) is inside one of the networks. */
  contains(address: string): boolean
}

/** Why `entry` is not an address or CIDR, or null when it is one. */
export function cidrProblem(entry: string): string | null {
  const [address = '', bits, ...rest] = entry.split('/')
  const family = isIP(address)
  if (family === 0 || rest.length > 0) return 'must be an IPv4 or IPv6 address or CIDR'
  if (bits === undefined) return null
  const prefix = Number(bits)
  const max = family === 4 ? 32 : 128
  if (!/^\d+$/.test(bits) || prefix > max) return `has a prefix length that must be 0 to ${max}`
  return null
}

/** One problem for each entry of the list at config key `key` that is not an address or CIDR. */
export function cidrListProblems(entries: readonly unknown[], key: string): string[] {
  return entries.flatMap((entry, index) => {
    const problem = typeof entry === 'string' ? cidrProblem(entry) : null
    return problem === null ? [] : [`"${key}[${index}]" ${problem}, got "${String(entry)}"`]
  })
}

/** Compiles validated entries (see cidrProblem) into one list checked per request. */
export function compileNetworks(entries: readonly string[]): NetworkList {
  const list = new BlockList()
  for (const entry of entries) {
    const [address = '', bits] = entry.split('/')
    const type = isIP(address) === 4 ? 'ipv4' : 'ipv6'
    if (bits === undefined) list.addAddress(address, type)
    else list.addSubnet(address, Number(bits), type)
  }
  return {
    // BlockList matches an IPv4-mapped IPv6 address (`::ffff:10.0.0.1`, a dual-stack socket's view of an
    // IPv4 client) against IPv4 rules too.
    contains: (address) => list.check(address, isIP(address) === 4 ? 'ipv4' : 'ipv6'),
  }
}
