import { createServer, type Server } from 'node:https'
import { connect } from 'node:tls'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { type Standin, startStandin } from '../../src/standin/server.js'
import { SessionTickets, TicketKeyRing } from '../../src/tls/session-tickets.js'
import { startProxy, type TestProxy } from './support/proxy.js'
import { reconnect } from './support/reconnect.js'
import { fixture, KEYSTORE_PASSWORD, readFixture } from './support/tls-client.js'

/**
 * Resumption as Flink's RestClient needs it: a new connection per request, each offering the session the
 * previous connection received and nothing older, since Java's client uses a TLS 1.3 ticket only once. Both
 * ends are asked whether each handshake resumed: the client's socket and the proxy's handshake counter.
 */

let standin: Standin
const running: TestProxy[] = []
beforeAll(async () => {
  standin = await startStandin()
})
afterAll(() => standin.close())
afterEach(async () => {
  await Promise.all(running.splice(0).map((proxy) => proxy.close(1_000)))
})

const TLS = { keystore: fixture('rest.signed.keystore'), keystorePassword: KEYSTORE_PASSWORD }
async function tlsProxy(extra: Record<string, unknown> = {}): Promise<TestProxy> {
  const proxy = await startProxy(standin.url, { tls: { ...TLS, ...extra } })
  running.push(proxy)
  return proxy
}
const portOf = (proxy: TestProxy | Server) =>
  'proxyUrl' in proxy
    ? Number(new URL(proxy.proxyUrl).port)
    : (proxy.address() as import('node:net').AddressInfo).port

/** The proxy's own count of handshakes, from its Prometheus scrape. */
async function handshakes(proxy: TestProxy): Promise<{ resumed: number; full: number }> {
  const text = await (await fetch(`${proxy.adminUrl}/metrics`)).text()
  const count = (resumed: string) =>
    Number(
      new RegExp(`^flink_guard_tls_handshakes_total\\{resumed="${resumed}"\\} (\\d+)$`, 'm').exec(
        text,
      )?.[1] ?? 0,
    )
  return { resumed: count('true'), full: count('false') }
}

describe('a new connection per request, offering the last session', () => {
  it.each(['TLSv1.3', 'TLSv1.2'] as const)(
    'resumes %s on every reconnect after the first, counted on both ends',
    async (version) => {
      const proxy = await tlsProxy()
      const connections = await reconnect(portOf(proxy), version, 6)
      expect(connections.map((c) => c.status)).toEqual(Array(6).fill('HTTP/1.1 200'))
      expect(connections.map((c) => c.reused)).toEqual([false, true, true, true, true, true])
      // TLS 1.3: every connection, a resumed one too, leaves with a fresh ticket to offer next.
      if (version === 'TLSv1.3')
        for (const connection of connections) expect(connection.sessions).toBeGreaterThan(0)
      expect(await handshakes(proxy)).toEqual({ resumed: 5, full: 1 })
    },
  )

  it('keeps resuming across a certificate reload', async () => {
    const proxy = await tlsProxy()
    const port = portOf(proxy)
    const before = await reconnect(port, 'TLSv1.3', 2)
    expect(proxy.reloadTls!()).toBe(true)
    const after = await reconnect(port, 'TLSv1.3', 3)
    expect([...before, ...after].map((c) => c.reused)).toEqual([false, true, false, true, true])
  })
})

describe('tls.sessionTickets: false', () => {
  it.each(['TLSv1.3', 'TLSv1.2'] as const)(
    'issues no %s ticket, and every connection is a full handshake',
    async (version) => {
      const proxy = await tlsProxy({ sessionTickets: false })
      const connections = await reconnect(portOf(proxy), version, 3)
      expect(connections.map((c) => c.status)).toEqual(Array(3).fill('HTTP/1.1 200'))
      expect(connections.map((c) => c.ticket)).toEqual([false, false, false])
      expect(connections.map((c) => c.sessions)).toEqual([0, 0, 0])
      expect(connections.map((c) => c.reused)).toEqual([false, false, false])
      expect(await handshakes(proxy)).toEqual({ resumed: 0, full: 3 })
    },
  )
})

describe('ticket keys', () => {
  const servers: { server: Server; tickets: TicketKeyRing }[] = []
  afterEach(async () => {
    for (const { server, tickets } of servers.splice(0)) {
      tickets.close()
      await new Promise((resolve) => server.close(resolve))
    }
  })
  /** A server sealing tickets with `tickets`: a ring of its own unless given one. */
  async function ticketServer(
    tickets = TicketKeyRing.rotating(300),
  ): Promise<{ server: Server; tickets: TicketKeyRing }> {
    const server = createServer(
      { key: readFixture('rest.signed.pem'), cert: readFixture('rest.signed.pem') },
      (_request, response) => response.end('ok'),
    )
    new SessionTickets(server, true, tickets)
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    servers.push({ server, tickets })
    return { server, tickets }
  }

  /** One connection offering `session`: whether it resumed, and the session it left with. */
  function once(port: number, session?: Buffer): Promise<{ reused: boolean; session?: Buffer }> {
    return new Promise((resolve, reject) => {
      let reused = false
      let latest: Buffer | undefined
      const socket = connect(
        {
          host: '127.0.0.1',
          port,
          servername: 'localhost',
          ca: readFixture('ca.pem'),
          ...(session === undefined ? {} : { session }),
        },
        () => {
          reused = socket.isSessionReused()
          socket.write('GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n')
        },
      )
      socket.on('session', (value: Buffer) => {
        latest = value
      })
      socket.resume()
      socket.on('error', reject)
      socket.on('close', () => resolve({ reused, ...(latest === undefined ? {} : { session: latest }) }))
    })
  }

  it('opens a ticket for one rotation after its key stops sealing, and not after two', async () => {
    const { server, tickets } = await ticketServer()
    const port = portOf(server)
    const first = await once(port)
    tickets.rotate()
    expect((await once(port, first.session)).reused).toBe(true)
    tickets.rotate()
    expect((await once(port, first.session)).reused).toBe(false)
  })

  it("opens a ticket sealed by another process holding the same ring (a process group's workers), across a rotation", async () => {
    const primary = TicketKeyRing.rotating(300)
    const a = await ticketServer(TicketKeyRing.fromWire(primary.wire()))
    const b = await ticketServer(TicketKeyRing.fromWire(primary.wire()))
    const fromA = await once(portOf(a.server))
    const onB = await once(portOf(b.server), fromA.session)
    expect(onB.reused).toBe(true)
    // The primary rotates and hands the ring on: b's ticket, sealed under the old key, still opens on a.
    primary.rotate()
    a.tickets.replace(primary.wire())
    b.tickets.replace(primary.wire())
    expect((await once(portOf(a.server), onB.session)).reused).toBe(true)
    primary.close()
  })

  it('refuses a ring that is not one (a key of the wrong length)', () => {
    const wire = TicketKeyRing.rotating(300).wire()
    expect(() =>
      TicketKeyRing.fromWire({ ...wire, current: [wire.current[0], 'AAAA', wire.current[2]] }),
    ).toThrow('not a ticket key')
  })

  it('refuses a ticket sealed by another process (random keys of its own)', async () => {
    const a = await ticketServer()
    const b = await ticketServer()
    const fromA = await once(portOf(a.server))
    expect((await once(portOf(b.server), fromA.session)).reused).toBe(false)
    expect((await once(portOf(a.server), fromA.session)).reused).toBe(true)
  })
})
