/**
 * bcrypt runs on libuv's thread pool (4 threads by default), which WebCrypto (JWT signatures), file reads and
 * DNS share. Checks beyond this many wait in a queue, so a storm of bad logins leaves threads free.
 */
export const DEFAULT_MAX_CONCURRENT_HASHES = 2
/** Checks waiting beyond this many are shed (answered 429) rather than queued: the queue's delay stays bounded. */
export const DEFAULT_MAX_QUEUED_HASHES = 64

/** `first`: a known user from an address with no failures; `last`: everything else (unknown users, failing addresses). */
export type HashPriority = 'first' | 'last'

export const SHED = Symbol('shed')

interface Waiting {
  readonly start: () => void
  readonly shed: () => void
}

/**
 * A bounded budget for password-hashing work: at most `maxConcurrent` checks at once, the rest queued by
 * priority, and when the queue is full the newest `last` check is shed first. No volume of bad logins can
 * then delay a good one by more than the checks already running.
 */
export class HashBudget {
  readonly #maxConcurrent: number
  readonly #maxQueued: number
  readonly #first: Waiting[] = []
  readonly #last: Waiting[] = []
  #running = 0

  constructor(maxConcurrent = DEFAULT_MAX_CONCURRENT_HASHES, maxQueued = DEFAULT_MAX_QUEUED_HASHES) {
    this.#maxConcurrent = maxConcurrent
    this.#maxQueued = maxQueued
  }

  get queued(): number {
    return this.#first.length + this.#last.length
  }

  /** Runs `task` within the budget; SHED when it was dropped to keep the queue bounded. */
  async run<T>(priority: HashPriority, task: () => Promise<T>): Promise<T | typeof SHED> {
    if (this.#running < this.#maxConcurrent) this.#running += 1
    // A finishing check hands its slot straight to the next one, so #running never overshoots.
    else if (!(await this.#wait(priority))) return SHED
    try {
      return await task()
    } finally {
      const next = this.#first.shift() ?? this.#last.shift()
      if (next === undefined) this.#running -= 1
      else next.start()
    }
  }

  #wait(priority: HashPriority): Promise<boolean> {
    return new Promise((resolve) => {
      const waiting = { start: () => resolve(true), shed: () => resolve(false) }
      if (this.queued >= this.#maxQueued) {
        if (priority === 'last' || this.#last.length === 0) return resolve(false)
        this.#last.pop()!.shed()
      }
      ;(priority === 'first' ? this.#first : this.#last).push(waiting)
    })
  }
}
