import { Socket } from 'node:net'
import type { Static, TSchema } from '@sinclair/typebox'
import { Value } from '@sinclair/typebox/value'
import type { Credentials } from '../../../src/auth/authenticator.js'
import type { AuthLogger } from '../../../src/auth/logger.js'

/** A config section with its schema defaults applied, as the config loader produces it; throws if invalid. */
export function configOf<T extends TSchema>(schema: T, raw: Record<string, unknown>): Static<T> {
  const value = Value.Default(schema, structuredClone(raw))
  const errors = [...Value.Errors(schema, value)].map((error) => `${error.path}: ${error.message}`)
  if (errors.length > 0) throw new Error(`test config invalid: ${errors.join('; ')}`)
  return value as Static<T>
}

/** What the chain hands an authenticator: request headers and the connection. */
export function credentials(headers: Record<string, string> = {}, remoteAddress = '192.0.2.10'): Credentials {
  return { headers, socket: new Socket(), remoteAddress }
}

export interface RecordingLogger extends AuthLogger {
  readonly lines: { level: string; message: string; details: Record<string, unknown> }[]
}

export function recordingLogger(): RecordingLogger {
  const lines: RecordingLogger['lines'] = []
  const record = (level: string) => (details: object, message: string) => {
    lines.push({ level, message, details: details as Record<string, unknown> })
  }
  return { lines, info: record('info'), warn: record('warn'), error: record('error') }
}
