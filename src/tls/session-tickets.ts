import { randomBytes } from 'node:crypto'
import type { Server } from 'node:tls'
import { FlinkGuardError } from '../errors.js'

/**
 * TLS session tickets sealed with keys of our own, so that a resumed connection gets a fresh ticket.
 *
 * Node's built-in ticket keys answer OpenSSL's ticket callback with "valid" and never "valid, renew", and OpenSSL
 * then sends no NewSessionTicket on a resumed TLS 1.3 connection. Java's client uses a TLS 1.3 ticket once
 * (JSSE drops a session from its cache when it offers it), so Flink's RestClient, which opens a new
 * connection per request, resumed only every other one. Answering "renew" makes every resumed handshake
 * carry the next ticket, for TLS 1.2 and 1.3 alike.
 *
 * Keys live in memory only and rotate every `lifetimeSec` (the session lifetime, which OpenSSL checks inside
 * every ticket as well): a ticket sealed under the current key is accepted, and renewed, until the key after
 * next takes over, so no key outlives two lifetimes. With tickets off the same callback refuses to seal any:
 * OpenSSL (3.2 and later) then sends no TLS 1.3 ticket at all, where SSL_OP_NO_TICKET would make it send
 * stateful ones that Node, without a session cache, can never resume.
 *
 * The callback is Node's own hook (`SecureContext.enableTicketKeyCallback`, exercised by Node's
 * test-https-resume-after-renew.js); it is internal, so its absence is a start-up error, not a silent downgrade.
 */

/** OpenSSL's ticket callback results (SSL_CTX_set_tlsext_ticket_key_cb). */
const REFUSE = 0
const SEALED = 1
const VALID_RENEW = 2
/** Node seals tickets with AES-128-CBC and HMAC-SHA256, both keyed with 16 bytes, named by 16 bytes. */
const KEY_BYTES = 16

interface TicketKey {
  readonly name: Buffer
  readonly hmac: Buffer
  readonly aes: Buffer
}

type CallbackResult = [number, Buffer, Buffer, Buffer, Buffer]
interface NativeContext {
  enableTicketKeyCallback?: () => void
  onticketkeycallback?: (name: Buffer, iv: Buffer, encrypt: boolean) => CallbackResult
}

const newKey = (): TicketKey => ({
  name: randomBytes(KEY_BYTES),
  hmac: randomBytes(KEY_BYTES),
  aes: randomBytes(KEY_BYTES),
})

/** Node asserts buffers in every slot, even when the answer is a refusal. */
const UNUSED = Buffer.alloc(KEY_BYTES)
const refusal: CallbackResult = [REFUSE, UNUSED, UNUSED, UNUSED, UNUSED]

export class SessionTickets {
  #current = newKey()
  #previous: TicketKey | null = null
  readonly #timer: NodeJS.Timeout | null

  constructor(
    private readonly server: Server,
    private readonly enabled: boolean,
    lifetimeSec: number,
  ) {
    this.#timer = enabled ? setInterval(() => this.rotate(), lifetimeSec * 1000).unref() : null
    this.attach()
  }

  /** Hooks the server's current secure context; again after every `setSecureContext` (a certificate reload). */
  attach(): void {
    const context = (this.server as unknown as { _sharedCreds?: { context?: NativeContext } })._sharedCreds
      ?.context
    if (typeof context?.enableTicketKeyCallback !== 'function') {
      throw new FlinkGuardError('FG_ERR_LISTEN_FAILED', {
        message: `this Node.js (${process.version}) has no TLS ticket key callback: flink-guard needs Node 22 or later`,
      })
    }
    context.enableTicketKeyCallback()
    context.onticketkeycallback = (name, _iv, encrypt) => this.#answer(name, encrypt)
  }

  /** The current key seals from now on; the one before it still opens (and renews) its tickets. */
  rotate(): void {
    this.#previous = this.#current
    this.#current = newKey()
  }

  close(): void {
    if (this.#timer !== null) clearInterval(this.#timer)
  }

  #answer(name: Buffer, encrypt: boolean): CallbackResult {
    if (!this.enabled) return refusal
    if (encrypt) {
      const key = this.#current
      return [SEALED, key.hmac, key.aes, key.name, randomBytes(KEY_BYTES)]
    }
    const key = [this.#current, this.#previous].find((candidate) => candidate?.name.equals(name) === true)
    return key == null ? refusal : [VALID_RENEW, key.hmac, key.aes, UNUSED, UNUSED]
  }
}
