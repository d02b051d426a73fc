import type { Config } from '../config/schema.js'

/**
 * What a reload cannot change, because the listeners were built with it: their addresses, their TLS setup
 * (the certificate files themselves reload on their own), whether metrics are served, whom Fastify believes
 * about X-Forwarded-For, the OIDC login's routes, the connection caps, TLS handshake deadline and failed-request
 * rate limit the listener enforces, the worker count, the Redis the budgets live in and the job owners' store, and the shutdown grace the signal handler holds.
 */
const RESTART_ONLY: Record<string, (config: Readonly<Config>) => unknown> = {
  listen: (config) => config.listen,
  admin: (config) => config.admin,
  tls: (config) => config.tls,
  metrics: (config) => config.metrics,
  'authz.trustedProxies': (config) => config.authz.trustedProxies,
  'limits.maxConnections': (config) => config.limits.maxConnections,
  'limits.maxConnectionsPerAddress': (config) => config.limits.maxConnectionsPerAddress,
  'limits.handshakeTimeoutMs': (config) => config.limits.handshakeTimeoutMs,
  'limits.failedRequests': (config) => config.limits.failedRequests,
  'auth.oidc': (config) => (config.auth.order.includes('oidc') ? config.auth.oidc : undefined),
  shutdown: (config) => config.shutdown,
  workers: (config) => config.workers,
  redis: (config) => config.redis,
  jobOwners: (config) => config.jobOwners,
}

/** The keys whose change in `next` takes a restart: a reload that changes any of them is refused whole. */
export function restartOnlyChanges(running: Readonly<Config>, next: Readonly<Config>): string[] {
  return Object.entries(RESTART_ONLY)
    .filter(([, read]) => JSON.stringify(read(running)) !== JSON.stringify(read(next)))
    .map(([key]) => key)
}
