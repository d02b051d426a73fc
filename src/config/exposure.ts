import type { Config } from './schema.js'

/** 127.0.0.0/8, ::1 and localhost: addresses no other host can reach. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[(.*)\]$/, '$1').toLowerCase()
  return bare === 'localhost' || bare === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(bare)
}

/**
 * Valid settings that expose credentials, traffic or the admin port to the network: logged at start, and
 * refused by `check-config --strict`. Each names the key, what it exposes and what to set instead.
 */
export function exposureWarnings(config: Readonly<Config>): string[] {
  const warnings: string[] = []
  const { listen, admin, auth, tls, upstream, clusters } = config
  const credentials = (['basic', 'jwt', 'oidc'] as const).filter((method) => auth[method] !== undefined)
  if (tls === undefined && !isLoopbackHost(listen.host) && credentials.length > 0) {
    warnings.push(
      `"listen.host" is ${listen.host} without "tls": ${credentials.join(', ')} credentials cross the network in clear text. Configure tls (or flinkConf with Flink's REST keystore), or listen on 127.0.0.1 behind a TLS front proxy.`,
    )
  }
  const upstreams = [
    ...(upstream === undefined ? [] : [{ key: 'upstream', url: upstream.url }]),
    ...(clusters ?? []).map((cluster, index) => ({
      key: `clusters[${index}].upstream`,
      url: cluster.upstream.url,
    })),
  ]
  for (const { key, url } of upstreams) {
    const flink = new URL(url)
    if (flink.protocol === 'http:' && !isLoopbackHost(flink.hostname)) {
      warnings.push(
        `"${key}.url" is plain http: to ${flink.hostname}, not loopback: requests, uploads and identity headers reach Flink unencrypted and unauthenticated. Use https: with ${key}.tls (Flink's security.ssl.rest.*), or run flink-guard beside the JobManager.`,
      )
    }
  }
  if (!isLoopbackHost(admin.host)) {
    warnings.push(
      `"admin.host" is ${admin.host}: /metrics and /readyz answer anyone who can reach it. Keep it on 127.0.0.1, or where probes need the pod address, out of every Service and behind a NetworkPolicy.`,
    )
  }
  return warnings
}
