import { connect } from 'node:net'
import type { buildConnector } from 'undici'

/**
 * An undici connector whose sockets come from `localAddress` (any of 127.0.0.0/8 on Linux), so one test
 * can be many clients to the proxy's per-address limits. undici drops `localAddress` from plain options.
 */
export function connectFrom(localAddress: string): buildConnector.connector {
  return (options, callback) => {
    const socket = connect({ host: options.hostname, port: Number(options.port), localAddress })
    socket.once('connect', () => callback(null, socket))
    socket.once('error', (err) => callback(err, null))
    return socket
  }
}
