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
 * every ticket as well; in a process group the primary rotates them and hands them to every worker): a ticket sealed under the current key is accepted, and renewed, until the key after
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

/** A key ring as it crosses a process group's IPC channel (JSON): each key's three parts in base64. */
export interface WireKeyRing {
  readonly current: readonly [string, string, string]
  readonly previous: readonly [string, string, string] | null
}

const toWire = (key: TicketKey) =>
  [key.name, key.hmac, key.aes].map((part) => part.toString('base64')) as [string, string, string]

function fromWire(parts: readonly string[]): TicketKey {
  const [name, hmac, aes] = parts.map((part) => Buffer.from(part, 'base64'))
  if ([name, hmac, aes].some((part) => part?.length !== KEY_BYTES)) throw new Error('not a ticket key')
  return { name: name!, hmac: hmac!, aes: aes! }
}

/**
 * The keys tickets are sealed with: the current one seals, it and the one before it open. A process's own
 * ring rotates itself every `lifetimeSec` (`rotating`); a worker of a process group holds its primary's, set
 * anew at each of the primary's rotations, so a ticket one worker sealed opens in every other.
 */
export class TicketKeyRing {
  #current = newKey()
  #previous: TicketKey | null = null
  #timer: NodeJS.Timeout | null = null

  /** Rotates every `lifetimeSec`, telling `onRotate` (a primary passes the ring to its workers). */
  static rotating(lifetimeSec: number, onRotate: (ring: TicketKeyRing) => void = () => {}): TicketKeyRing {
    const ring = new TicketKeyRing()
    ring.#timer = setInterval(() => {
      ring.rotate()
      onRotate(ring)
    }, lifetimeSec * 1000).unref()
    return ring
  }

  /** Another process's ring (a worker's, from its primary). */
  static fromWire(wire: WireKeyRing): TicketKeyRing {
    const ring = new TicketKeyRing()
    ring.replace(wire)
    return ring
  }

  /** The current key seals from now on; the one before it still opens (and renews) its tickets. */
  rotate(): void {
    this.#previous = this.#current
    this.#current = newKey()
  }

  replace(wire: WireKeyRing): void {
    this.#current = fromWire(wire.current)
    this.#previous = wire.previous === null ? null : fromWire(wire.previous)
  }

  wire(): WireKeyRing {
    return {
      current: toWire(this.#current),
      previous: this.#previous === null ? null : toWire(this.#previous),
    }
  }

  get sealing(): TicketKey {
    return this.#current
  }

  opening(name: Buffer): TicketKey | null {
    return [this.#current, this.#previous].find((key) => key?.name.equals(name) === true) ?? null
  }

  close(): void {
    if (this.#timer !== null) clearInterval(this.#timer)
  }
}

export class SessionTickets {
  constructor(
    private readonly server: Server,
    private readonly enabled: boolean,
    private readonly keys: TicketKeyRing,
  ) {
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

  #answer(name: Buffer, encrypt: boolean): CallbackResult {
    if (!this.enabled) return refusal
    if (encrypt) {
      const key = this.keys.sealing
      return [SEALED, key.hmac, key.aes, key.name, randomBytes(KEY_BYTES)]
    }
    const key = this.keys.opening(name)
    return key === null ? refusal : [VALID_RENEW, key.hmac, key.aes, UNUSED, UNUSED]
  }
}
