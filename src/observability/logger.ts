import type { FastifyServerOptions } from 'fastify'

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

export type LoggerOption = FastifyServerOptions['logger']

export function loggerOptions(level: string, stream?: NodeJS.WritableStream): FastifyServerOptions['logger'] {
  return {
    level,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    ...(stream ? { stream } : {}),
  }
}
