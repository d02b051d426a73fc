import { Writable } from 'node:stream'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { validateConfig } from '../../src/config/load.js'
import { createLogger } from '../../src/observability/logger.js'
import { Peer } from '../../src/workers/peer.js'
import { ticketKeyHandlers, ticketKeysThroughPrimary } from '../../src/workers/shared-ticket-keys.js'

const quiet = createLogger('info', new Writable({ write: (_chunk, _encoding, done) => done() }))
const config = (tls: Record<string, unknown> | undefined) =>
  validateConfig(
    {
      upstream: { url: 'http://127.0.0.1:8081' },
      auth: { anonymous: {} },
      ...(tls === undefined ? {} : { tls: { cert: '/x.pem', key: '/x-key.pem', ...tls } }),
    },
    'test',
    {},
  ).config

/** A primary's and a worker's ends of one channel, in this process (the IPC is JSON, as node:cluster's). */
function channel(primaryHandlers: ConstructorParameters<typeof Peer>[1]) {
  let worker!: Peer
  const primary = new Peer((message) => worker.receive(JSON.parse(JSON.stringify(message))), primaryHandlers)
  worker = new Peer((message) => primary.receive(JSON.parse(JSON.stringify(message))))
  return { primary, worker }
}

afterEach(() => {
  vi.useRealTimers()
})

describe('one TLS ticket key ring for a process group', () => {
  it("starts each worker with the primary's ring and hands every worker the ring the primary rotated to", async () => {
    vi.useFakeTimers()
    const peers: Peer[] = []
    const keys = ticketKeyHandlers(config({ sessionLifetimeSec: 60 }), () => peers, quiet)
    const rings = []
    for (let i = 0; i < 2; i++) {
      const { primary, worker } = channel(keys.handlers)
      peers.push(primary)
      const received = await ticketKeysThroughPrimary(config({}), worker)
      worker.answerWith(received.handlers)
      rings.push(received.ring!)
    }
    const before = rings[0]!.wire()
    expect(rings[1]!.wire()).toEqual(before)
    await vi.advanceTimersByTimeAsync(60_000)
    const after = rings.map((ring) => ring.wire())
    expect(after[0]).toEqual(after[1])
    expect(after[0]!.current).not.toEqual(before.current)
    // The key that sealed before the rotation still opens after it, in every worker.
    expect(after[0]!.previous).toEqual(before.current)
    keys.close()
  })

  it('has nothing to share without TLS', async () => {
    const keys = ticketKeyHandlers(config(undefined), () => [], quiet)
    expect(keys.handlers).toEqual({})
    const { worker } = channel(keys.handlers)
    expect(await ticketKeysThroughPrimary(config(undefined), worker)).toEqual({
      ring: undefined,
      handlers: {},
    })
  })
})
