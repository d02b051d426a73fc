/** How long one side waits for the other's answer before giving up on it. */
export const DEFAULT_ASK_TIMEOUT_MS = 2_000

type Message =
  | { readonly fg: 'ask'; readonly id: number; readonly op: string; readonly args: unknown }
  | { readonly fg: 'answer'; readonly id: number; readonly result?: unknown; readonly error?: string }

export type Handlers = Readonly<Record<string, (args: never) => unknown>>

interface Pending {
  resolve(value: unknown): void
  reject(err: Error): void
  timer: NodeJS.Timeout
}

/**
 * One end of the IPC channel between the primary and a worker (node:cluster's `send` and `message`): it asks
 * the other end by operation name and answers the other end's asks with `handlers`. Every ask is bounded in
 * time, so a peer that died or hangs costs a rejection, never a request that waits for ever.
 */
export class Peer {
  readonly #pending = new Map<number, Pending>()
  #nextId = 0
  #handlers: Handlers

  constructor(
    private readonly sendMessage: (message: Message) => void,
    handlers: Handlers = {},
  ) {
    this.#handlers = handlers
  }

  /** What this end answers from now on (a worker knows its answers only once its server runs). */
  answerWith(handlers: Handlers): void {
    this.#handlers = handlers
  }

  ask<T>(op: string, args: unknown, timeoutMs = DEFAULT_ASK_TIMEOUT_MS): Promise<T> {
    const id = this.#nextId++
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id)
        reject(new Error(`no answer to "${op}" within ${timeoutMs} ms`))
      }, timeoutMs)
      this.#pending.set(id, { resolve: resolve as (value: unknown) => void, reject, timer })
      try {
        this.sendMessage({ fg: 'ask', id, op, args })
      } catch (err) {
        this.#settle(id, { error: (err as Error).message })
      }
    })
  }

  /** Feed every message of the channel here; ones that are not this protocol's are ignored. */
  receive(message: unknown): void {
    if (typeof message !== 'object' || message === null || !('fg' in message)) return
    const msg = message as Message
    if (msg.fg === 'answer') this.#settle(msg.id, msg)
    else if (msg.fg === 'ask') void this.#answer(msg)
  }

  /** The other end is gone: every ask still waiting fails now. */
  disconnected(): void {
    for (const id of [...this.#pending.keys()]) this.#settle(id, { error: 'the other process is gone' })
  }

  async #answer({ id, op, args }: { id: number; op: string; args: unknown }): Promise<void> {
    const handler = Object.hasOwn(this.#handlers, op) ? this.#handlers[op] : undefined
    let reply: Message
    try {
      if (handler === undefined) throw new Error(`unknown operation "${op}"`)
      reply = { fg: 'answer', id, result: (await handler(args as never)) ?? null }
    } catch (err) {
      reply = { fg: 'answer', id, error: (err as Error).message }
    }
    try {
      this.sendMessage(reply)
    } catch {
      // The asker is gone; its own timeout or disconnect settles it.
    }
  }

  #settle(id: number, outcome: { result?: unknown; error?: string }): void {
    const pending = this.#pending.get(id)
    if (pending === undefined) return
    this.#pending.delete(id)
    clearTimeout(pending.timer)
    if (outcome.error !== undefined) pending.reject(new Error(outcome.error))
    else pending.resolve(outcome.result ?? null)
  }
}
