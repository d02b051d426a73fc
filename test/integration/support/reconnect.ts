import { connect } from 'node:tls'
import { readFixture } from './tls-client.js'

/**
 * Flink's RestClient's way to a TLS server: a new connection per request, each offering the session the
 * previous connection received and nothing older, since Java's client uses a TLS 1.3 ticket only once.
 */

export type Version = 'TLSv1.2' | 'TLSv1.3'
export interface Connection {
  readonly reused: boolean
  /** Sessions the server handed this connection (TLS 1.3: one per NewSessionTicket). */
  readonly sessions: number
  readonly ticket: boolean
  readonly status: string
}

/** `count` connections in a row, each offering only the last session the one before it received. */
export async function reconnect(port: number, version: Version, count: number): Promise<Connection[]> {
  const connections: Connection[] = []
  let offer: Buffer | undefined
  for (let index = 0; index < count; index++) {
    const received: Buffer[] = []
    const connection = await new Promise<Connection>((resolve, reject) => {
      let reused = false
      let ticket = false
      let answer = ''
      const socket = connect(
        {
          host: '127.0.0.1',
          port,
          servername: 'localhost',
          ca: readFixture('ca.pem'),
          minVersion: version,
          maxVersion: version,
          ...(offer === undefined ? {} : { session: offer }),
        },
        () => {
          reused = socket.isSessionReused()
          socket.write('GET /config HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n')
        },
      )
      socket.on('session', (session: Buffer) => received.push(session))
      socket.on('data', (chunk: Buffer) => {
        answer += chunk.toString('latin1')
      })
      socket.on('end', () => {
        ticket = socket.getTLSTicket() !== undefined
      })
      socket.on('error', reject)
      socket.setTimeout(5_000, () => socket.destroy(new Error('no answer in 5 s')))
      socket.on('close', () =>
        resolve({ reused, sessions: received.length, ticket, status: answer.slice(0, 12) }),
      )
    })
    connections.push(connection)
    // TLS 1.3: the newest ticket or nothing (Java uses each once). TLS 1.2: a resumed session stays the client's
    // session (Node's client emits no 'session' for it, and JSSE keeps it cached), so it is offered again.
    offer = received.at(-1) ?? (version === 'TLSv1.2' ? offer : undefined)
  }
  return connections
}
