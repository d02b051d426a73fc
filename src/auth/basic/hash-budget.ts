/**
 * bcrypt runs on libuv's thread pool (4 threads by default), which WebCrypto (JWT signatures), file reads and
 * DNS share. Checks beyond this many wait in a queue, so a storm of bad logins leaves threads free.
 */
export const DEFAULT_MAX_CONCURRENT_HASHES = 2
/**
 * Of those, how many may be `last` checks (unknown names, failing addresses): a storm of them then holds one
 * thread and one core, and a good login waits for at most that one check to finish.
 */
export const DEFAULT_MAX_CONCURRENT_LAST = 1
/** Checks waiting beyond this many are shed (answered 429) rather than queued: the queue's delay stays bounded. */
export const DEFAULT_MAX_QUEUED_HASHES = 64

/** `first`: a known user from an address with no failures; `last`: everything else (unknown users, failing addresses). */
export type HashPriority = 'first' | 'last'

export const SHED = Symbol('shed')

type Waiting = (admitted: boolean) => void

/**
 * A bounded budget for password-hashing work: at most `maxConcurrent` checks at once and `maxLast` of them
 * `last`, the rest queued by priority, and when the queue is full the newest `last` check is shed first.
 * No volume of bad logins can then delay a good one by more than the one junk check already running.
 */
export class HashBudget {
  readonly #maxConcurrent: number
  readonly #maxLast: number
  readonly #maxQueued: number
  readonly #first: Waiting[] = []
  readonly #last: Waiting[] = []
  #running = 0
  #runningLast = 0

  constructor(
    maxConcurrent = DEFAULT_MAX_CONCURRENT_HASHES,
    maxLast = DEFAULT_MAX_CONCURRENT_LAST,
    maxQueued = DEFAULT_MAX_QUEUED_HASHES,
  ) {
    this.#maxConcurrent = maxConcurrent
    this.#maxLast = Math.min(maxLast, maxConcurrent)
    this.#maxQueued = maxQueued
  }

  /** Runs `task` within the budget; SHED when it was dropped to keep the queue bounded. */
  async run<T>(priority: HashPriority, task: () => Promise<T>): Promise<T | typeof SHED> {
    if (this.#mayStart(priority)) this.#take(priority)
    // A finishing check hands its slot straight to the next one (taken in #next), so no count overshoots.
    else if (!(await this.#wait(priority))) return SHED
    try {
      return await task()
    } finally {
      this.#running -= 1
      if (priority === 'last') this.#runningLast -= 1
      this.#next()
    }
  }

  #mayStart(priority: HashPriority): boolean {
    return this.#running < this.#maxConcurrent && (priority === 'first' || this.#runningLast < this.#maxLast)
  }

  #take(priority: HashPriority): void {
    this.#running += 1
    if (priority === 'last') this.#runningLast += 1
  }

  #next(): void {
    if (this.#first.length > 0 && this.#mayStart('first')) {
      this.#take('first')
      this.#first.shift()!(true)
    } else if (this.#last.length > 0 && this.#mayStart('last')) {
      this.#take('last')
      this.#last.shift()!(true)
    }
  }

  #wait(priority: HashPriority): Promise<boolean> {
    return new Promise((resolve) => {
      if (this.#first.length + this.#last.length >= this.#maxQueued) {
        if (priority === 'last' || this.#last.length === 0) return resolve(false)
        this.#last.pop()!(false)
      }
      ;(priority === 'first' ? this.#first : this.#last).push(resolve)
    })
  }
}
