import { compilePolicy } from '../authz/decide.js'
import { cidrProblem } from '../authz/networks.js'
import type { Config } from '../config/schema.js'
import { pinProblems } from '../tls/config.js'
import { normalHost } from './upstreams.js'

/**
 * An upstream URL is an origin: Flink serves from /, and credentials in it would end up in logs. With
 * `path`, a path is allowed (a page under a prefix), still no query or fragment.
 */
export function upstreamUrlProblems(url: unknown, key: string, allow = { path: false }): string[] {
  if (typeof url !== 'string') return []
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return [`"${key}" must be an http: or https: URL, got "${url}"`]
  }
  const problems: string[] = []
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    problems.push(`"${key}" must be an http: or https: URL, got "${url}"`)
  }
  if (parsed.username !== '' || parsed.password !== '') {
    problems.push(`"${key}" must not carry credentials, got "${parsed.origin}" with a user name`)
  }
  if (allow.path && (parsed.search !== '' || parsed.hash !== '')) {
    problems.push(`"${key}" must be a URL without a query or fragment, got "${url}"`)
  } else if (
    !allow.path &&
    ((parsed.pathname !== '/' && parsed.pathname !== '') || parsed.search !== '' || parsed.hash !== '')
  ) {
    problems.push(`"${key}" must be an origin without a path or query (Flink serves from /), got "${url}"`)
  }
  return problems
}

const HOST_NAME = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*\.?$/i

const RESERVED_NAMES = new Set(['default', 'yarn'])

/** What the schema cannot say about `clusters` and `yarn`. Reads defensively: it runs on invalid configs too. */
export function routingProblems(config: Config): string[] {
  const problems: string[] = []
  const clusters = Array.isArray(config.clusters) ? config.clusters : []
  if (config.upstream === undefined && config.clusters === undefined && config.yarn === undefined) {
    problems.push('"upstream" is required: configure upstream.url, clusters or yarn')
  }
  const names = new Map<string, number>()
  const hosts = new Map<string, string>()
  clusters.forEach((cluster, index) => {
    const key = `clusters[${index}]`
    if (typeof cluster !== 'object' || cluster === null) return
    if (typeof cluster.name === 'string') {
      // The names flink-guard gives the top-level upstream and YARN's applications: one label, one set of job
      // owner records each (src/job-owners/), never shared with a cluster of that name.
      if (RESERVED_NAMES.has(cluster.name))
        problems.push(
          `"${key}.name" "${cluster.name}" is reserved (the top-level upstream is "default", YARN is "yarn")`,
        )
      const first = names.get(cluster.name)
      if (first !== undefined) {
        problems.push(`"${key}.name" "${cluster.name}" is already the name of clusters[${first}]`)
      } else names.set(cluster.name, index)
    }
    problems.push(...upstreamUrlProblems(cluster.upstream?.url, `${key}.upstream.url`))
    problems.push(
      ...pinProblems(cluster.upstream?.tls?.pinnedFingerprints, `${key}.upstream.tls.pinnedFingerprints`),
    )
    if (Array.isArray(cluster.hosts)) {
      cluster.hosts.forEach((host, hostIndex) => {
        if (typeof host !== 'string') return
        if (!HOST_NAME.test(host)) {
          problems.push(
            `"${key}.hosts[${hostIndex}]" must be a host name without port or path, got "${host}"`,
          )
          return
        }
        const owner = hosts.get(normalHost(host))
        if (owner !== undefined)
          problems.push(`"${key}.hosts[${hostIndex}]" "${host}" already addresses ${owner}`)
        else hosts.set(normalHost(host), key)
      })
      if (cluster.pathPrefix === false && cluster.hosts.length === 0) {
        problems.push(`"${key}" has pathPrefix: false and no hosts, so no request can reach it`)
      }
    }
    if (Array.isArray(cluster.authz?.rules)) {
      try {
        compilePolicy({ roles: {}, rules: cluster.authz.rules })
      } catch (err) {
        problems.push((err as Error).message.replace('"authz.', `"${key}.authz.`))
      }
    }
  })
  problems.push(...yarnProblems(config.yarn))
  return problems
}

function yarnProblems(yarn: Config['yarn']): string[] {
  if (yarn === undefined || typeof yarn !== 'object') return []
  const problems: string[] = []
  if (Array.isArray(yarn.resourceManagers)) {
    yarn.resourceManagers.forEach((url, index) => {
      problems.push(...upstreamUrlProblems(url, `yarn.resourceManagers[${index}]`))
    })
  }
  // A page the browser is sent to, under a path of its own if need be; the job's route is appended.
  problems.push(...upstreamUrlProblems(yarn.historyServerUrl, 'yarn.historyServerUrl', { path: true }))
  if (Array.isArray(yarn.allowedPorts)) {
    yarn.allowedPorts.forEach((range, index) => {
      if (typeof range !== 'string') return
      const [low, high = low] = range.split('-').map(Number)
      if (!(low! >= 1 && high! <= 65_535 && low! <= high!)) {
        problems.push(
          `"yarn.allowedPorts[${index}]" must be a port or a range low-high within 1-65535, got "${range}"`,
        )
      }
    })
  }
  if (Array.isArray(yarn.allowedHosts)) {
    yarn.allowedHosts.forEach((entry, index) => {
      if (typeof entry !== 'string') return
      const name = entry.startsWith('*.') ? entry.slice(2) : entry
      if (HOST_NAME.test(name) || (entry.includes('/') && cidrProblem(entry) === null)) return
      if (cidrProblem(entry) === null) return
      problems.push(`"yarn.allowedHosts[${index}]" must be a host name, "*.domain" or a CIDR, got "${entry}"`)
    })
  }
  // yarn:* roles are the gateway's own (owner and queue grants): an identity's role by that name is dropped.
  for (const role of Object.keys(yarn.authz?.roles ?? {})) {
    if (role.startsWith('yarn:'))
      problems.push(`"yarn.authz.roles.${role}" must not start with "yarn:" (reserved)`)
  }
  if (Array.isArray(yarn.authz?.rules)) {
    try {
      compilePolicy({ roles: {}, rules: yarn.authz.rules })
    } catch (err) {
      problems.push((err as Error).message.replace('"authz.', '"yarn.authz.'))
    }
  }
  return problems
}
