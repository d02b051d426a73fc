import { STATUS_CODES } from 'node:http'
import type { Server, Socket } from 'node:net'
import { addressKey } from '../auth/basic/throttle.js'
import { ERROR_CODE_HEADER, errorBody, FlinkGuardError } from '../errors.js'

export interface ConnectionLimits {
  readonly maxConnections: number
  readonly maxConnectionsPerAddress: number
}

/**
 * Caps open client connections, in all and per client address (IPv6: its /64), so a flood of idle
 * connections cannot take every file descriptor. Counted on the TCP connection, before TLS: a refused one
 * costs no handshake. Plain HTTP gets a 503 it can read; TLS cannot be spoken to yet and is closed.
 * The server's own `connection` listeners (HTTP parser, TLS wrapper) are moved behind the gate, so a
 * refused socket is never parsed. Call it after the server is made and before it listens.
 */
export function limitConnections(
  server: Server,
  limits: ConnectionLimits,
  options: { tls: boolean; onRefused?: (reason: 'total' | 'per_address') => void },
): void {
  const perAddress = new Map<string, number>()
  let open = 0
  const admitted = server.listeners('connection') as ((socket: Socket) => void)[]
  server.removeAllListeners('connection')
  server.on('connection', (socket: Socket) => {
    const key = addressKey(socket.remoteAddress ?? '')
    const fromAddress = perAddress.get(key) ?? 0
    if (open >= limits.maxConnections || fromAddress >= limits.maxConnectionsPerAddress) {
      options.onRefused?.(open >= limits.maxConnections ? 'total' : 'per_address')
      refuse(socket, options.tls)
      return
    }
    open += 1
    perAddress.set(key, fromAddress + 1)
    socket.once('close', () => {
      open -= 1
      const left = (perAddress.get(key) ?? 1) - 1
      if (left <= 0) perAddress.delete(key)
      else perAddress.set(key, left)
    })
    for (const listener of admitted) listener.call(server, socket)
  })
}

const REFUSAL = (() => {
  const error = new FlinkGuardError('FG_ERR_REQUEST_TOO_MANY_CONNECTIONS')
  const body = JSON.stringify(errorBody(error))
  return (
    `HTTP/1.1 ${error.statusCode} ${STATUS_CODES[error.statusCode]}\r\nConnection: close\r\nRetry-After: 1\r\n` +
    `${ERROR_CODE_HEADER}: ${error.code}\r\nContent-Type: application/json; charset=utf-8\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
  )
})()

function refuse(socket: Socket, tls: boolean): void {
  if (tls) {
    socket.destroy()
    return
  }
  // Answered before the request is read; whatever the client sends is discarded until it has read this.
  socket.on('error', () => {})
  socket.end(REFUSAL)
  socket.resume()
  setTimeout(() => socket.destroy(), 2_000).unref()
}
