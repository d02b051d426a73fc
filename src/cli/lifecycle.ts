/**
 * Runs `stop` once on the first SIGTERM or SIGINT, then exits with the code it returns. Kubernetes sends
 * SIGTERM and waits terminationGracePeriodSeconds; Ctrl-C sends SIGINT. Both get the same graceful drain.
 */
export function onShutdownSignal(stop: (signal: NodeJS.Signals) => Promise<number>): void {
  let stopping = false
  const handle = (signal: NodeJS.Signals) => {
    if (stopping) return
    stopping = true
    stop(signal).then(
      (code) => process.exit(code),
      (err: unknown) => {
        process.stderr.write(`flink-guard: shutdown failed: ${(err as Error).message}\n`)
        process.exit(1)
      },
    )
  }
  process.on('SIGTERM', handle)
  process.on('SIGINT', handle)
}

/** Runs `reload` on every SIGHUP (systemd's ExecReload, `kill -HUP`, a config-watcher sidecar). */
export function onReloadSignal(reload: () => void): void {
  process.on('SIGHUP', reload)
}
