import type { PublicBase } from '../upstream/upstream.js'

/**
 * Flink's answers that carry its own REST address, rebased onto the gateway's. Flink builds that address from
 * `rest.address` and the bound port (RestServerEndpoint.restBaseUrl, `http://127.0.0.1:8081`), which behind
 * the gateway is an address the client cannot or must not use. Read from Flink's source (1.20 and 2.x) and
 * seen in real answers (test/flink/gateway.test.ts), there are three, all small JSON:
 * - `GET /jars` `address` (JarListHandler): the dashboard's Submit page links `address + '/#/submit'`;
 * - `GET /jobs/:jobid/jobmanager/log-url` and `/jobs/:jobid/taskmanagers/:taskmanagerid/log-url` `url`
 *   (GeneratedLogUrlHandler over `restBaseUrl + '/#/job-manager/logs'`, `'/#/task-manager/<tmid>/logs'`).
 * Addresses the client never dials are left as Flink reports them (docs/deploy-gateway.md says why): the
 * TaskManagers' RPC `path`, `dataPort` and `jmxPort`, subtask hosts, and `rest.address` / `rest.port` among
 * the `/jobmanager/config` entries, which are Flink's configuration and the identity proof reads.
 */

/** Route template -> the field holding Flink's REST address. */
const ADDRESS_FIELDS: ReadonlyMap<string, string> = new Map([
  ['/jars', 'address'],
  ['/jobs/:jobid/jobmanager/log-url', 'url'],
  ['/jobs/:jobid/taskmanagers/:taskmanagerid/log-url', 'url'],
])

/** `scheme://authority` at the start of an http(s) URL; what follows it (path, query, fragment) is kept. */
const HTTP_ORIGIN = /^https?:\/\/[^/?#]*/i

/** The field of this route's answer that carries Flink's address, or null for every other route. */
export function addressFieldOf(template: string | undefined): string | null {
  return template === undefined ? null : (ADDRESS_FIELDS.get(template) ?? null)
}

/**
 * The gateway's URL of one Flink, from what the request was addressed to: `protocol` and `host` (the Host
 * header, port included, or X-Forwarded-* from a trusted proxy), the host replaced when `base` names one.
 */
export function publicUrlOf(protocol: string, host: string, base: PublicBase): string {
  if (base.host === null) return `${protocol}://${host}${base.path}`
  const port = /:([0-9]+)$/.exec(host)?.[1]
  return `${protocol}://${base.host}${port === undefined ? '' : `:${port}`}${base.path}`
}

/**
 * The answer with Flink's address in `field` replaced by `publicUrl`, the rest of the URL (`/#/job-manager/logs`)
 * kept; null when there is nothing to replace (no such field, or not an http(s) URL, which Flink never sends).
 */
export function rebaseAddress(body: unknown, field: string, publicUrl: string): unknown | null {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return null
  const value = (body as Record<string, unknown>)[field]
  if (typeof value !== 'string') return null
  const origin = HTTP_ORIGIN.exec(value)
  if (origin === null) return null
  return { ...body, [field]: `${publicUrl}${value.slice(origin[0].length)}` }
}
