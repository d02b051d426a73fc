import { createHash } from 'node:crypto'
import { type FSWatcher, readFileSync, watch } from 'node:fs'
import type { Server } from 'node:https'
import { dirname } from 'node:path'
import type { Logger } from '../observability/logger.js'
import type { ServerTlsMaterial } from './server-tls.js'

/** Editors and `kubectl` write in several steps: wait for the burst of events to settle. */
const SETTLE_MS = 200
const DAY_MS = 86_400_000
/** Warn this long before the proxy's certificate expires. */
export const EXPIRY_WARNING_MS = 30 * DAY_MS

export interface TlsReloadObserver {
  reloaded(what: 'tls', result: 'success' | 'failure'): void
  certificateExpiry(file: string, secondsLeft: number): void
}

export interface TlsReloader {
  /** Re-reads every file now (also on SIGHUP); true when the new material is in use. */
  reload(): boolean
  close(): void
}

function digest(files: readonly string[]): string {
  const hash = createHash('sha256')
  for (const file of files) {
    try {
      hash.update(readFileSync(file))
    } catch {
      hash.update(`missing:${file}`)
    }
  }
  return hash.digest('hex')
}

/**
 * Hot reload of the listener's certificate: the directories of every TLS file are watched (a Kubernetes
 * secret mount swaps a `..data` symlink, so the files' own inodes never change), and SIGHUP forces a reload.
 * New material goes in with `setSecureContext`: new connections get it, open ones keep theirs. A broken or
 * half-written file keeps the old context and logs the file and the reason.
 */
export function startTlsReload(
  server: Server,
  initial: ServerTlsMaterial,
  load: () => ServerTlsMaterial,
  logger: Logger,
  observer: TlsReloadObserver | null,
  /** Runs after each new context is in place (the session-ticket hook lives on the context). */
  swapped: () => void = () => {},
): TlsReloader {
  let current = initial
  let fingerprint = digest(current.files)
  let timer: NodeJS.Timeout | undefined

  const reportExpiry = () => {
    const file = current.files[0]!
    const left = Date.parse(current.leaf.validTo) - Date.now()
    observer?.certificateExpiry(file, Math.round(left / 1000))
    if (left < EXPIRY_WARNING_MS) {
      logger.warn(
        { file, validTo: current.leaf.validTo, daysLeft: Math.floor(left / DAY_MS) },
        'the TLS certificate expires soon',
      )
    }
  }

  const reload = (): boolean => {
    try {
      const next = load()
      server.setSecureContext(next.context)
      swapped()
      current = next
      fingerprint = digest(current.files)
      logger.info(
        { files: current.files, subject: current.leaf.subject, validTo: current.leaf.validTo },
        'TLS certificate reloaded',
      )
      observer?.reloaded('tls', 'success')
      reportExpiry()
      return true
    } catch (err) {
      logger.error(
        { reason: (err as Error).message },
        'TLS reload failed: the previous certificate stays in use',
      )
      observer?.reloaded('tls', 'failure')
      return false
    }
  }

  const changed = () => {
    clearTimeout(timer)
    timer = setTimeout(() => {
      if (digest(current.files) !== fingerprint) reload()
    }, SETTLE_MS)
  }
  const watchers: FSWatcher[] = [...new Set(current.files.map((file) => dirname(file)))].map((dir) =>
    watch(dir, { persistent: false }, changed),
  )
  const onHangup = () => reload()
  process.on('SIGHUP', onHangup)
  reportExpiry()
  const daily = setInterval(reportExpiry, DAY_MS).unref()

  return {
    reload,
    close() {
      clearTimeout(timer)
      clearInterval(daily)
      process.removeListener('SIGHUP', onHangup)
      for (const watcher of watchers) watcher.close()
    },
  }
}
