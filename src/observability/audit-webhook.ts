import { setTimeout as sleep } from 'node:timers/promises'
import { request } from 'undici'
import type { AuditConfig } from './audit-config.js'
import type { Logger } from './logger.js'

export interface AuditWebhook {
  send(line: Record<string, unknown>): void
  /** Waits (at most `graceMs`) for the lines already queued. */
  close(graceMs: number): Promise<void>
}

const CONCURRENCY = 2

/**
 * Every audit line POSTed to a receiver as JSON, at most CONCURRENCY at a time (each carries its time). The
 * log keeps every line whatever happens here: a receiver that is slow or down costs queued lines (the oldest
 * dropped past maxQueued), each loss logged with how many were lost, never a request's time.
 */
export function createAuditWebhook(
  config: NonNullable<AuditConfig['webhook']>,
  logger: Logger,
): AuditWebhook {
  // Logged without its query, which may carry a token.
  const target = `${new URL(config.url).origin}${new URL(config.url).pathname}`
  const queue: string[] = []
  let running = 0
  let dropped = 0
  let idle: (() => void) | null = null
  const pump = () => {
    while (running < CONCURRENCY && queue.length > 0) {
      const body = queue.shift()!
      running++
      void post(body).finally(() => {
        running--
        pump()
        if (running === 0 && queue.length === 0) idle?.()
      })
    }
  }
  const post = async (body: string) => {
    try {
      const response = await request(config.url, {
        method: 'POST',
        headers: { ...config.headers, 'content-type': 'application/json' },
        body,
        headersTimeout: config.timeoutMs,
        bodyTimeout: config.timeoutMs,
      })
      await response.body.dump()
      if (response.statusCode >= 300) throw new Error(`the receiver answered ${response.statusCode}`)
    } catch (err) {
      logger.warn({ err: (err as Error).message, url: target }, 'audit webhook: a line was not delivered')
    }
  }
  return {
    send(line) {
      queue.push(JSON.stringify(line))
      if (queue.length > config.maxQueued) {
        queue.shift()
        dropped++
        logger.warn(
          { dropped, maxQueued: config.maxQueued },
          'audit webhook: queue full, oldest line dropped',
        )
      }
      pump()
    },
    async close(graceMs) {
      if (running === 0 && queue.length === 0) return
      await Promise.race([
        new Promise<void>((resolve) => {
          idle = resolve
        }),
        sleep(graceMs, undefined, { ref: false }),
      ])
    },
  }
}
