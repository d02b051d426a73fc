import { connect, type Socket } from 'node:net'

/** A raw HTTP/1.1 exchange over one TCP connection, for what real clients do that undici will not send. */
export class RawConnection {
  private buffer = ''
  private ended = false
  private readonly socket: Socket

  private constructor(socket: Socket) {
    this.socket = socket
    socket.setEncoding('latin1')
    socket.on('data', (chunk: string) => {
      this.buffer += chunk
    })
    socket.on('end', () => {
      this.ended = true
    })
    socket.on('close', () => {
      this.ended = true
    })
    socket.on('error', () => {})
  }

  static open(url: string): Promise<RawConnection> {
    const { hostname, port } = new URL(url)
    return new Promise((resolve, reject) => {
      const socket = connect({ host: hostname, port: Number(port) }, () => resolve(new RawConnection(socket)))
      socket.once('error', reject)
    })
  }

  write(text: string | Buffer): void {
    this.socket.write(text)
  }

  /** Waits until the received text matches, and returns (and consumes) everything up to the match's end. */
  async readUntil(pattern: RegExp, timeoutMs = 5_000): Promise<string> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const match = pattern.exec(this.buffer)
      if (match) {
        const upTo = match.index + match[0].length
        const taken = this.buffer.slice(0, upTo)
        this.buffer = this.buffer.slice(upTo)
        return taken
      }
      if (this.ended)
        throw new Error(`connection ended before ${pattern}; received: ${JSON.stringify(this.buffer)}`)
      if (Date.now() > deadline)
        throw new Error(`timed out waiting for ${pattern}; received: ${JSON.stringify(this.buffer)}`)
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
  }

  /** Reads one whole response with a Content-Length body. */
  async readResponse(): Promise<{
    head: string
    status: number
    headers: Record<string, string>
    body: string
  }> {
    const head = await this.readUntil(/\r\n\r\n/)
    const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1])
    const headers: Record<string, string> = {}
    for (const line of head.split('\r\n').slice(1)) {
      const colon = line.indexOf(':')
      if (colon > 0) headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim()
    }
    const length = Number(headers['content-length'] ?? 0)
    const body = length > 0 ? await this.readUntil(new RegExp(`^[\\s\\S]{${length}}`)) : ''
    return { head, status, headers, body }
  }

  async closedByPeer(timeoutMs = 5_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs
    while (!this.ended && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10))
    return this.ended
  }

  close(): void {
    this.socket.destroy()
  }
}
