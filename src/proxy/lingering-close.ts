import type { Socket } from 'node:net'

/** How long a refused request's body is read and discarded after the answer, before the socket is closed. */
export const LINGER_MS = 2_000

const LINGERING = Symbol('lingering')

/**
 * Lingering close (what NGINX does, RFC 9112 §9.6): a client still sending a body it was refused (an
 * upload sent without waiting for 100-continue) must get to read the 401/403/413. Closing at once, with its
 * bytes unread, makes the kernel send a reset that discards the answer on the client's side. So the
 * socket's write side is ended (the answer and a FIN go out), the rest of the body is read and dropped
 * for up to LINGER_MS, then it is closed. Node's server calls `destroySoon()` once a `Connection: close`
 * answer has finished, and drains the request body itself: this replaces that one call on this socket.
 */
export function lingerOnClose(socket: Socket | null | undefined): void {
  if (socket == null) return
  const lingering = socket as Socket & { [LINGERING]?: true }
  if (lingering[LINGERING]) return
  lingering[LINGERING] = true
  socket.destroySoon = () => {
    socket.end()
    socket.resume()
    setTimeout(() => socket.destroy(), LINGER_MS).unref()
  }
}
