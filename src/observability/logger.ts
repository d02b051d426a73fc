import type { FastifyBaseLogger } from 'fastify'
import { pino } from 'pino'

/** Credentials never reach a log line, whatever object is logged. */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers["proxy-authorization"]',
  'req.headers.cookie',
  'headers.authorization',
  'headers["proxy-authorization"]',
  'headers.cookie',
  'res.headers["set-cookie"]',
  '*.password',
  '*.token',
]

/** Fastify's view of a pino logger: what the listeners and the authenticators take. */
export type Logger = FastifyBaseLogger

/**
 * The one logger of a running proxy, shared by both listeners and by the authenticators (which log key
 * refreshes and file reloads before any request exists). JSON lines to stdout unless a stream is given.
 */
export function createLogger(level: string, stream?: NodeJS.WritableStream): Logger {
  const options = { level, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } }
  return stream ? pino(options, stream) : pino(options)
}
