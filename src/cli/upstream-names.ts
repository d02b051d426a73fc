import { isIP } from 'node:net'
import type { Config } from '../config/schema.js'
import { readFile, trustAnchors } from '../tls/stores.js'
import type { UpstreamConfig } from '../upstream/config.js'

/**
 * Flink's SSL recipe trusts its self-signed REST certificate itself (`keytool -importcert` of the keystore's
 * export): that truststore says which names Flink's certificate carries. When none of its leaf certificates
 * names the upstream URL's host, every request would fail the host name check with FG_ERR_UPSTREAM_TLS: say so
 * at check time, with the fix. A CA in the truststore says nothing about the names of what it signed.
 */
export function upstreamNameWarnings(config: Readonly<Config>): string[] {
  const warnings: string[] = []
  const named: [string, UpstreamConfig][] = [
    ...(config.upstream === undefined ? [] : [['upstream', config.upstream] as [string, UpstreamConfig]]),
    ...(config.clusters ?? []).map((cluster, i): [string, UpstreamConfig] => [
      `clusters[${i}].upstream`,
      cluster.upstream,
    ]),
  ]
  for (const [key, upstream] of named) {
    const { tls } = upstream
    const url = new URL(upstream.url)
    if (url.protocol !== 'https:' || !tls.verifyHostname || tls.servername !== undefined) continue
    if (tls.truststore === undefined) continue
    const leaves = trustAnchors(readFile(tls.truststore), tls.truststorePassword).filter((cert) => !cert.ca)
    if (leaves.length === 0) continue
    const host = url.hostname.replace(/^\[|\]$/g, '')
    const matches = leaves.some((cert) =>
      isIP(host) === 0 ? cert.checkHost(host) !== undefined : cert.checkIP(host) !== undefined,
    )
    if (matches) continue
    const names = leaves.map((cert) => cert.subjectAltName ?? cert.subject.replace(/\n/g, ', ')).join('; ')
    warnings.push(
      `"${key}.url" connects to ${host}, which no certificate in "${key}.tls.truststore" names (${names}): the host name check would refuse Flink's certificate on every request (FG_ERR_UPSTREAM_TLS). Set "${key}.tls.servername" to one of its DNS names, or "${key}.tls.verifyHostname: false" as Flink 1.x's REST client does.`,
    )
  }
  return warnings
}
