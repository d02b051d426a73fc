import type { Config } from '../config/schema.js'
import type { Logger } from '../observability/logger.js'
import { TicketKeyRing, type WireKeyRing } from '../tls/session-tickets.js'
import type { Handlers, Peer } from './peer.js'

/**
 * One TLS ticket key ring for a process group. node:cluster hands a client's connections to the workers in
 * turn, so a ticket one worker sealed must open in the next, or a client that reconnects per request (Flink's
 * RestClient) never resumes: measured with 2 workers and keys of their own, 0 of 7 reconnects resumed. The
 * primary rotates the ring and hands it to every worker; a worker starts with the primary's ring.
 */
export function ticketKeyHandlers(
  config: Readonly<Config>,
  workers: () => readonly Peer[],
  logger: Logger,
): { handlers: Handlers; close(): void } {
  if (config.tls === undefined) return { handlers: {}, close() {} }
  const ring = TicketKeyRing.rotating(config.tls.sessionLifetimeSec, (rotated) => {
    const wire = rotated.wire()
    for (const worker of workers()) {
      // A worker that misses a rotation still opens the others' tickets for one lifetime, then fully handshakes.
      worker.ask('tls.setTicketKeys', wire).catch((err: Error) => {
        logger.warn({ err: err.message }, 'a worker did not take the rotated TLS ticket keys')
      })
    }
  })
  return { handlers: { 'tls.ticketKeys': () => ring.wire() }, close: () => ring.close() }
}

/** A worker's side: the primary's ring, and the handler with which the primary replaces it at each rotation. */
export async function ticketKeysThroughPrimary(
  config: Readonly<Config>,
  primary: Peer,
): Promise<{ ring: TicketKeyRing | undefined; handlers: Handlers }> {
  if (config.tls === undefined) return { ring: undefined, handlers: {} }
  const ring = TicketKeyRing.fromWire(await primary.ask<WireKeyRing>('tls.ticketKeys', null))
  return { ring, handlers: { 'tls.setTicketKeys': (wire: WireKeyRing) => ring.replace(wire) } }
}
