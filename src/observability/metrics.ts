import type { FastifyRequest } from 'fastify'
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client'
import type { FlinkGuardError } from '../errors.js'
import type { UpstreamObserver } from '../proxy/forward.js'
import { VERSION } from '../version.js'

/** 0.5 ms to 30 s: a loopback forward takes well under a millisecond, a savepoint trigger can take seconds. */
export const DURATION_BUCKETS_SECONDS = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
]

const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'])

/**
 * The proxy's Prometheus metrics, in a registry of their own (served on the admin listener only).
 * Every label takes a bounded set of values: `route` is a Flink route template or one of a few fixed
 * words, never the raw URL, so scanning random paths cannot grow the series count.
 */
export class ProxyMetrics implements UpstreamObserver {
  readonly registry = new Registry()
  private readonly requests = new Counter({
    name: 'flink_guard_requests_total',
    help: 'Requests answered, by Flink route template, method and status',
    labelNames: ['route', 'method', 'status'] as const,
    registers: [this.registry],
  })
  private readonly requestDuration = new Histogram({
    name: 'flink_guard_request_duration_seconds',
    help: 'Time from the request arriving to the response being sent',
    labelNames: ['route', 'method'] as const,
    buckets: DURATION_BUCKETS_SECONDS,
    registers: [this.registry],
  })
  private readonly upstreamDuration = new Histogram({
    name: 'flink_guard_upstream_duration_seconds',
    help: "Time from forwarding a request to Flink's response headers",
    labelNames: ['route'] as const,
    buckets: DURATION_BUCKETS_SECONDS,
    registers: [this.registry],
  })
  private readonly upstreamUp = new Gauge({
    name: 'flink_guard_upstream_up',
    help: 'Whether the Flink REST endpoint answered the last readiness check or forwarded request (1) or not (0)',
    registers: [this.registry],
  })

  private readonly clusterUp = new Gauge({
    name: 'flink_guard_cluster_up',
    help: 'Per named cluster (clusters[].name, or yarn): whether it answered the last readiness check or forwarded request',
    labelNames: ['cluster'] as const,
    registers: [this.registry],
  })
  private readonly clusterRequests = new Counter({
    name: 'flink_guard_cluster_requests_total',
    help: 'Requests resolved to a named cluster (clusters[].name, or yarn for every YARN application), by status',
    labelNames: ['cluster', 'status'] as const,
    registers: [this.registry],
  })

  private readonly authFailures = new Counter({
    name: 'flink_guard_auth_failures_total',
    help: 'Requests refused by authentication, by scheme (none: no credential) and reason',
    labelNames: ['method', 'reason'] as const,
    registers: [this.registry],
  })
  private readonly rateLimited = new Counter({
    name: 'flink_guard_rate_limited_total',
    help: 'Requests refused by authentication that got 429 because their address spent limits.failedRequests',
    registers: [this.registry],
  })
  private readonly authzDenied = new Counter({
    name: 'flink_guard_authz_denied_total',
    help: "Requests denied by authorization, by Flink route template and the identity's preset",
    labelNames: ['route', 'preset'] as const,
    registers: [this.registry],
  })

  private readonly handshakes = new Counter({
    name: 'flink_guard_tls_handshakes_total',
    help: 'TLS handshakes completed on the proxy listener, by whether they resumed an earlier session',
    labelNames: ['resumed'] as const,
    registers: [this.registry],
  })
  private readonly handshakeErrors = new Counter({
    name: 'flink_guard_tls_handshake_errors_total',
    help: 'TLS handshakes that failed or were cut (pin_mismatch), by OpenSSL error code',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  })
  private readonly certificateExpiryGauge = new Gauge({
    name: 'flink_guard_certificate_expiry_seconds',
    help: "Seconds until the proxy's TLS certificate expires, by the file it came from",
    labelNames: ['file'] as const,
    registers: [this.registry],
  })
  private readonly reloads = new Counter({
    name: 'flink_guard_reloads_total',
    help: 'Reloads of certificates and credential files, by what and result',
    labelNames: ['what', 'result'] as const,
    registers: [this.registry],
  })

  #inFlight: () => number = () => 0
  private readonly requestsInFlight: Gauge = new Gauge({
    name: 'flink_guard_requests_in_flight',
    help: 'Requests on the proxy listener whose response has not closed yet (uploads and downloads included)',
    registers: [this.registry],
    collect: (): void => this.requestsInFlight.set(this.#inFlight()),
  })

  #rateLimitedAddresses: () => number = () => 0
  private readonly rateLimitAddresses: Gauge = new Gauge({
    name: 'flink_guard_rate_limit_addresses',
    help: 'Client addresses the failed-request rate limit tracks in this process (bounded by limits.failedRequests.maxAddresses)',
    registers: [this.registry],
    collect: (): void => this.rateLimitAddresses.set(this.#rateLimitedAddresses()),
  })

  private readonly sharedStoreUp = new Gauge({
    name: 'flink_guard_shared_store_up',
    help: 'Whether the store that holds the brute-force budgets (store: redis) answered its last command (1) or not (0)',
    labelNames: ['store'] as const,
    registers: [this.registry],
  })
  private readonly sharedStoreErrors = new Counter({
    name: 'flink_guard_shared_store_errors_total',
    help: 'Budget checks Redis did not answer, decided by redis.failMode instead',
    labelNames: ['fail_mode'] as const,
    registers: [this.registry],
  })

  private readonly jobOwnerErrors = new Counter({
    name: 'flink_guard_job_owner_errors_total',
    help: 'Job owner store (jobOwners) operations that failed: a submitter not recorded (record) or not read (lookup)',
    labelNames: ['op'] as const,
    registers: [this.registry],
  })

  /** `worker`: this process's number in a process group (workers > 1), a label on every series it reports. */
  constructor(worker?: number) {
    if (worker !== undefined) this.registry.setDefaultLabels({ worker: String(worker) })
    collectDefaultMetrics({ register: this.registry })
    // The info-metric idiom (as Prometheus' own prometheus_build_info): always 1, the facts are the labels,
    // so a dashboard can join on it and an alert can spot a fleet running mixed versions.
    new Gauge({
      name: 'flink_guard_build_info',
      help: 'The running flink-guard: its version and the Node.js version, always 1',
      labelNames: ['version', 'node_version'] as const,
      registers: [this.registry],
    }).set({ version: VERSION, node_version: process.versions.node }, 1)
  }

  /** Read at every scrape: the count lives where requests are tracked (the pipeline switch). */
  observeInFlight(read: () => number): void {
    this.#inFlight = read
  }

  observeRateLimitAddresses(read: () => number): void {
    this.#rateLimitedAddresses = read
  }

  recordRequest(route: string, method: string, status: number, seconds: number): void {
    const methodLabel = KNOWN_METHODS.has(method) ? method : 'OTHER'
    this.requests.inc({ route, method: methodLabel, status })
    this.requestDuration.observe({ route, method: methodLabel }, seconds)
  }

  /** `reason` comes from an authenticator's fixed vocabulary, never from the request. */
  recordAuthFailure(method: string, reason: string): void {
    this.authFailures.inc({ method, reason })
  }

  recordRateLimited(): void {
    this.rateLimited.inc()
  }

  setSharedStoreUp(up: boolean): void {
    this.sharedStoreUp.set({ store: 'redis' }, up ? 1 : 0)
  }

  recordSharedStoreError(failMode: 'closed' | 'open'): void {
    this.sharedStoreErrors.inc({ fail_mode: failMode })
  }

  recordJobOwnerError(op: 'record' | 'lookup'): void {
    this.jobOwnerErrors.inc({ op })
  }

  recordDenial(route: string, preset: string | null): void {
    this.authzDenied.inc({ route, preset: preset ?? 'none' })
  }

  recordHandshake(resumed: boolean): void {
    this.handshakes.inc({ resumed: resumed ? 'true' : 'false' })
  }

  /** OpenSSL's error codes are a fixed set, so the label stays bounded. */
  recordHandshakeError(reason: string): void {
    this.handshakeErrors.inc({ reason })
  }

  certificateExpiry(file: string, secondsLeft: number): void {
    this.certificateExpiryGauge.set({ file }, secondsLeft)
  }

  reloaded(what: string, result: 'success' | 'failure'): void {
    this.reloads.inc({ what, result })
  }

  /** `cluster`: a configured name (bounded by the config), absent for the top-level upstream. */
  upstreamResponded(request: FastifyRequest, seconds: number, cluster?: string): void {
    this.upstreamDuration.observe({ route: request.routeLabel }, seconds)
    if (cluster === undefined) this.upstreamUp.set(1)
    else this.clusterUp.set({ cluster }, 1)
  }

  upstreamFailed(_request: FastifyRequest, error: FlinkGuardError, cluster?: string): void {
    // Every FG_ERR_UPSTREAM_* failure (refused, reset, TLS, bad answer, timeouts) means Flink is not serving.
    if (!error.code.startsWith('FG_ERR_UPSTREAM_')) return
    if (cluster === undefined) this.upstreamUp.set(0)
    else this.clusterUp.set({ cluster }, 0)
  }

  setClusterUp(cluster: string, up: boolean): void {
    this.clusterUp.set({ cluster }, up ? 1 : 0)
  }

  recordClusterRequest(cluster: string, status: number): void {
    this.clusterRequests.inc({ cluster, status })
  }

  setUpstreamUp(up: boolean): void {
    this.upstreamUp.set(up ? 1 : 0)
  }
}
