import cluster, { type Worker } from 'node:cluster'
import type { AddressInfo } from 'node:net'
import { Counter, Gauge, Registry } from 'prom-client'
import { onReloadSignal, onShutdownSignal } from '../cli/lifecycle.js'
import type { Config } from '../config/schema.js'
import { FlinkGuardError } from '../errors.js'
import type { Logger } from '../observability/logger.js'
import { VERSION } from '../version.js'
import { Peer } from './peer.js'
import { buildPrimaryAdminApp, type WorkerAnswer } from './primary-admin.js'
import { budgetHandlers } from './shared-budgets.js'
import { ticketKeyHandlers } from './shared-ticket-keys.js'
import { WORKER_ENV } from './worker.js'

/** More deaths than this within the window is a crash loop: the group stops (exit 1) for its supervisor to act. */
export const CRASH_LOOP_MAX_RESTARTS = 5
export const CRASH_LOOP_WINDOW_MS = 60_000
/** A worker has its grace period to drain, and this much more to exit, before it is killed. */
const EXIT_MARGIN_MS = 5_000

interface Slot {
  worker: Worker
  peer: Peer
  listening: boolean
}

/**
 * The primary of a process group (`workers` > 1): it forks the workers, which share the proxy listener
 * (node:cluster hands connections out round-robin), runs the admin listener for the whole group, keeps the
 * group's brute-force budgets and TLS ticket keys, forwards SIGHUP to every worker, drains them all on SIGTERM or SIGINT and
 * replaces one that dies, within a crash-loop bound. Resolves with the exit code when the group is done.
 */
export async function runPrimary(config: Readonly<Config>, logger: Logger, workers: number): Promise<number> {
  const budgets = budgetHandlers(config)
  const slots = new Map<number, Slot>()
  const ticketKeys = ticketKeyHandlers(
    config,
    () => [...slots.values()].filter((slot) => slot.listening).map((slot) => slot.peer),
    logger,
  )
  const handlers = { ...budgets.handlers, ...ticketKeys.handlers }
  const registry = new Registry()
  const alive = new Gauge({
    name: 'flink_guard_workers',
    help: 'Worker processes running and listening, of the configured workers',
    registers: [registry],
  })
  const replaced = new Counter({
    name: 'flink_guard_workers_replaced_total',
    help: 'Workers that died (exit code or signal) and were replaced by a new one',
    registers: [registry],
  })
  const deaths: number[] = []
  let started = false
  let stopping = false
  let finish: (code: number) => void = () => {}
  const done = new Promise<number>((resolve) => {
    finish = resolve
  })
  const countAlive = () => alive.set([...slots.values()].filter((slot) => slot.listening).length)

  const stopAll = async (signal: NodeJS.Signals = 'SIGTERM'): Promise<boolean> => {
    stopping = true
    const exits = [...slots.values()].map(
      ({ worker }) =>
        new Promise<void>((resolve) => (worker.isDead() ? resolve() : worker.once('exit', () => resolve()))),
    )
    for (const { worker } of slots.values()) worker.process.kill(signal)
    let timer: NodeJS.Timeout | undefined
    const deadline = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), config.shutdown.graceMs + EXIT_MARGIN_MS)
    })
    const inTime = await Promise.race([Promise.all(exits).then(() => true), deadline])
    clearTimeout(timer)
    if (!inTime) for (const { worker } of slots.values()) if (!worker.isDead()) worker.process.kill('SIGKILL')
    return inTime
  }

  const fork = (number: number) => {
    const worker = cluster.fork({ [WORKER_ENV]: String(number) })
    const peer = new Peer((message) => worker.send(message), handlers)
    const slot: Slot = { worker, peer, listening: false }
    slots.set(number, slot)
    worker.on('message', (message) => peer.receive(message))
    worker.on('listening', (address: AddressInfo) => {
      slot.listening = true
      countAlive()
      if (!started && [...slots.values()].every((each) => each.listening)) {
        started = true
        logStarted(address)
      }
    })
    worker.on('exit', (code, signal) => {
      peer.disconnected()
      if (slots.get(number)?.worker === worker) slot.listening = false
      countAlive()
      if (stopping) return
      if (!started) {
        // A worker that cannot start (a bad htpasswd, a port in use) will not start when forked again.
        logger.error({ worker: number, code, signal }, 'a worker failed to start: stopping')
        void stopAll().then(() => finish(code === 2 ? 2 : 1))
        return
      }
      const now = Date.now()
      deaths.push(now)
      while (deaths.length > 0 && deaths[0]! <= now - CRASH_LOOP_WINDOW_MS) deaths.shift()
      if (deaths.length > CRASH_LOOP_MAX_RESTARTS) {
        logger.error(
          { worker: number, code, signal, deaths: deaths.length, windowMs: CRASH_LOOP_WINDOW_MS },
          'workers keep dying: stopping the process group',
        )
        void stopAll().then(() => finish(1))
        return
      }
      logger.warn(
        { worker: number, pid: worker.process.pid, code, signal },
        'a worker died: starting a new one',
      )
      replaced.inc()
      fork(number)
    })
  }

  const probe = async (url: string): Promise<Record<string, WorkerAnswer>> => {
    const answers: Record<string, WorkerAnswer> = {}
    await Promise.all(
      Array.from({ length: workers }, async (_unused, index) => {
        const slot = slots.get(index + 1)
        if (slot === undefined || !slot.listening) {
          answers[index + 1] = { missing: 'not running' }
          return
        }
        try {
          answers[index + 1] = await slot.peer.ask<{ status: number; body: unknown }>('admin', { url })
        } catch (err) {
          answers[index + 1] = { missing: (err as Error).message }
        }
      }),
    )
    return answers
  }
  const workerMetrics = async (): Promise<object[][]> => {
    const listening = [...slots.values()].filter((slot) => slot.listening)
    const results = await Promise.allSettled(
      listening.map((slot) => slot.peer.ask<object[]>('metrics', null)),
    )
    // A worker that does not answer in time is left out of this scrape; flink_guard_workers shows it.
    return results.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []))
  }

  const admin = await buildPrimaryAdminApp(
    { probe, workerMetrics, registry, metricsEnabled: config.metrics.enabled },
    logger,
  )
  try {
    await admin.listen({ host: config.admin.host, port: config.admin.port })
  } catch (err) {
    throw new FlinkGuardError('FG_ERR_LISTEN_FAILED', {
      message: `cannot listen: ${(err as Error).message}`,
      cause: err,
    })
  }
  const adminAddress = admin.server.address() as AddressInfo

  const logStarted = (address: AddressInfo) => {
    const scheme = config.tls === undefined ? 'http' : 'https'
    logger.info(
      {
        version: VERSION,
        proxy: `${scheme}://${hostOf(address.address)}:${address.port}`,
        admin: `http://${hostOf(adminAddress.address)}:${adminAddress.port}`,
        upstream: config.upstream?.url ?? null,
        clusters: config.clusters?.map((each) => each.name) ?? [],
        workers,
        pids: [...slots.values()].map((slot) => slot.worker.process.pid),
      },
      'flink-guard started',
    )
  }

  onReloadSignal(() => {
    logger.info({ workers: slots.size }, 'SIGHUP: passing it to every worker')
    for (const { worker } of slots.values()) worker.process.kill('SIGHUP')
  })
  onShutdownSignal(async (signal) => {
    logger.info({ signal, graceMs: config.shutdown.graceMs }, 'shutting down: draining every worker')
    const [inTime] = await Promise.all([stopAll(), admin.close()])
    await budgets.close()
    ticketKeys.close()
    logger.info(
      { drained: inTime },
      inTime ? 'stopped' : 'stopped after killing workers past the grace period',
    )
    return 0
  })

  for (let number = 1; number <= workers; number += 1) fork(number)
  const code = await done
  await admin.close()
  return code
}

function hostOf(address: string): string {
  return address.includes(':') ? `[${address}]` : address
}
