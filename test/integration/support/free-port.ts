import { connect, createServer } from 'node:net'

/**
 * A free port on 127.0.0.1, for a server whose public URL must be known before it starts (the OIDC
 * provider registers the proxy's redirect_uri first). Another process could take it in between; on a test
 * machine that is rare enough, and a retry fixes it.
 */
export async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  return port
}

/** Whether something accepts TCP connections on 127.0.0.1:port. */
export function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port })
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}
