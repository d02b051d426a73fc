import type { Pipeline } from './pipeline.js'

interface Entry {
  readonly pipeline: Pipeline
  /** Requests that started on this pipeline and whose response has not closed yet. */
  inFlight: number
  /** Set once a newer pipeline took over: the last request out closes it. */
  closing: Promise<void> | null
  retired: boolean
}

/**
 * The pipeline new requests start on, and the older ones still finishing. A request keeps the pipeline it
 * started on to its end (a reload never changes the rules under a running upload); a replaced pipeline is
 * closed when its last request is done, so its pool to Flink and its authenticators' watchers go away.
 */
export class PipelineSwitch {
  #current: Entry
  readonly #draining = new Set<Entry>()

  constructor(initial: Pipeline) {
    this.#current = { pipeline: initial, inFlight: 0, closing: null, retired: false }
  }

  get current(): Pipeline {
    return this.#current.pipeline
  }

  /** How many requests run on each pipeline, the current one first (for the in-flight gauge and tests). */
  get inFlight(): number[] {
    return [this.#current.inFlight, ...[...this.#draining].map((entry) => entry.inFlight)]
  }

  /** The pipeline a new request runs on; `release` must be called once, when its response has closed. */
  acquire(): { pipeline: Pipeline; release: () => void } {
    const entry = this.#current
    entry.inFlight += 1
    let released = false
    return {
      pipeline: entry.pipeline,
      release: () => {
        if (released) return
        released = true
        entry.inFlight -= 1
        if (entry.retired && entry.inFlight === 0) this.#close(entry)
      },
    }
  }

  /** Makes `next` the pipeline of every new request; the old one closes once its requests are done. */
  replace(next: Pipeline): void {
    const old = this.#current
    this.#current = { pipeline: next, inFlight: 0, closing: null, retired: false }
    old.retired = true
    this.#draining.add(old)
    if (old.inFlight === 0) this.#close(old)
  }

  /**
   * Closes every pipeline, the current one and those still draining (at shutdown, after the listeners);
   * `force` destroys their pools to Flink instead of waiting for them.
   */
  async close(force = false): Promise<void> {
    this.#current.retired = true
    this.#draining.add(this.#current)
    await Promise.all([...this.#draining].map((entry) => this.#close(entry, force)))
  }

  #close(entry: Entry, force = false): Promise<void> {
    entry.closing ??= entry.pipeline.close(force).finally(() => this.#draining.delete(entry))
    return entry.closing
  }
}
