import { createHash } from 'node:crypto'
import { type FSWatcher, watch } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import type { AuthLogger } from '../logger.js'
import { parseHtpasswd } from './htpasswd.js'
import { dummyHashes, type PasswordHash } from './password-hash.js'

/** Editors and `kubectl` write a file in several steps; one reload after the burst of events settles. */
const RELOAD_DEBOUNCE_MS = 100

export interface HtpasswdContent {
  readonly users: ReadonlyMap<string, PasswordHash>
  /** The hash an unknown user is verified against, so it costs what some known user costs. */
  readonly dummyFor: (user: string) => PasswordHash
}

/** Thrown when the file cannot be read or has bad lines; `problems` names each, without hashes. */
export class HtpasswdError extends Error {
  readonly problems: readonly string[]
  constructor(problems: readonly string[]) {
    super(problems.join('; '))
    this.problems = problems
  }
}

/**
 * An htpasswd file kept current: read at start, read again whenever its directory changes (a directory
 * watch also sees editors' rename-into-place and Kubernetes' `..data` symlink swap of a mounted Secret).
 * A new version with any bad line is refused and logged, and the previous one stays in use.
 */
export class HtpasswdFile {
  readonly #path: string
  readonly #allowWeakHashes: boolean
  readonly #logger: AuthLogger
  readonly #onChange: () => void
  readonly #onReload: ((result: 'success' | 'failure') => void) | undefined
  #content: HtpasswdContent | null = null
  #digest = ''
  #watcher: FSWatcher | null = null
  #timer: NodeJS.Timeout | undefined
  #reloading: Promise<void> = Promise.resolve()

  constructor(
    path: string,
    options: {
      allowWeakHashes: boolean
      logger: AuthLogger
      onChange: () => void
      onReload?: (result: 'success' | 'failure') => void
    },
  ) {
    this.#path = path
    this.#allowWeakHashes = options.allowWeakHashes
    this.#logger = options.logger
    this.#onChange = options.onChange
    this.#onReload = options.onReload
  }

  get content(): HtpasswdContent | null {
    return this.#content
  }

  /** Reads the file and starts watching it; throws an HtpasswdError when the first read fails. */
  async start(): Promise<void> {
    await this.#load()
    // Any event in the directory re-reads the file: the name in an event is the symlink or temporary file
    // that changed, not necessarily ours, and an unchanged file (same digest) is not parsed again.
    this.#watcher = watch(dirname(this.#path), { persistent: false }, () => this.#scheduleReload())
    this.#watcher.on('error', (err) =>
      this.#logger.error({ file: this.#path, err: err.message }, 'htpasswd watch failed; reloads stopped'),
    )
  }

  /** Reads the file now: what the watcher does after a change. Resolves once the new version is in use or refused. */
  reload(): Promise<void> {
    this.#reloading = this.#reloading.then(async () => {
      try {
        if (await this.#load()) this.#onReload?.('success')
      } catch (err) {
        this.#onReload?.('failure')
        const problems = err instanceof HtpasswdError ? err.problems : [(err as Error).message]
        this.#logger.error(
          { file: this.#path, problems, users: this.#content?.users.size ?? 0 },
          'htpasswd file refused; the previous version stays in use',
        )
      }
    })
    return this.#reloading
  }

  close(): void {
    clearTimeout(this.#timer)
    this.#watcher?.close()
    this.#watcher = null
  }

  #scheduleReload(): void {
    clearTimeout(this.#timer)
    this.#timer = setTimeout(() => void this.reload(), RELOAD_DEBOUNCE_MS)
    this.#timer.unref()
  }

  /** Reads the file; false when it is unchanged (same digest), true when the new version is in use. */
  async #load(): Promise<boolean> {
    let text: string
    try {
      text = await readFile(this.#path, 'utf8')
    } catch (err) {
      throw new HtpasswdError([
        `${this.#path}: cannot read (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
      ])
    }
    const digest = createHash('sha256').update(text).digest('hex')
    if (digest === this.#digest) return false
    const { users, problems } = parseHtpasswd(text, this.#allowWeakHashes)
    if (problems.length > 0) throw new HtpasswdError(problems.map((problem) => `${this.#path} ${problem}`))
    const weak = [...users.values()].filter((hash) => hash.scheme === 'plain').length
    if (weak > 0) this.#logger.warn({ file: this.#path, users: weak }, 'htpasswd has plaintext passwords')
    this.#content = { users, dummyFor: await dummyHashes([...users.values()], digest) }
    const first = this.#digest === ''
    this.#digest = digest
    this.#logger.info(
      { file: this.#path, users: users.size },
      first ? 'htpasswd loaded' : 'htpasswd reloaded',
    )
    this.#onChange()
    return true
  }
}
