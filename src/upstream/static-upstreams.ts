import type { Config } from '../config/schema.js'
import { DEFAULT_RESPONSE_TIMEOUT_MS, type UpstreamConfig } from './config.js'

/** Every upstream the config names by URL: the top-level one and each cluster's. */
export function staticUpstreams(config: Readonly<Config>): UpstreamConfig[] {
  return [
    ...(config.upstream === undefined ? [] : [config.upstream]),
    ...(config.clusters ?? []).map((cluster) => cluster.upstream),
  ]
}

/** The longest response timeout of any upstream: the client socket must outlive it. */
export function longestResponseMs(config: Readonly<Config>): number {
  const timeouts = [
    ...staticUpstreams(config).map((upstream) => upstream.timeouts.responseMs),
    config.yarn?.upstream.timeouts.responseMs ?? 0,
  ]
  return Math.max(...timeouts, timeouts.some((ms) => ms > 0) ? 0 : DEFAULT_RESPONSE_TIMEOUT_MS)
}
