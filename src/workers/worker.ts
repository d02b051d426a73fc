import type { RunningServer } from '../server.js'
import { type Handlers, Peer } from './peer.js'

/** The environment variable that tells a forked worker its number (1..workers). */
export const WORKER_ENV = 'FLINK_GUARD_WORKER'

/** This process's number when it is a worker of a process group, else undefined. */
export function workerNumber(): number | undefined {
  const value = process.env[WORKER_ENV]
  return value === undefined || process.send === undefined ? undefined : Number(value)
}

/** A worker's end of the channel to its primary. */
export function connectToPrimary(): Peer {
  const primary = new Peer((message) => process.send!(message))
  process.on('message', (message) => primary.receive(message))
  process.on('disconnect', () => primary.disconnected())
  return primary
}

/**
 * What a worker answers its primary: its readiness (its own admin app, asked in-process: it does not listen) and
 * its metrics as JSON, which the primary aggregates into the one scrape; and `others` (the ticket keys).
 */
export function answerPrimary(primary: Peer, server: RunningServer, others: Handlers = {}): void {
  primary.answerWith({
    ...others,
    admin: async (args: { url: string }) => {
      // Only the probes: the primary asks nothing else, and nothing else should be reachable this way.
      if (!args.url.startsWith('/readyz')) throw new Error(`not a readiness probe: ${args.url}`)
      const response = await server.admin.inject({ method: 'GET', url: args.url })
      return { status: response.statusCode, body: response.json() as unknown }
    },
    metrics: () => server.metrics?.registry.getMetricsAsJSON() ?? [],
  })
}
