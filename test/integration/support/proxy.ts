import { Writable } from 'node:stream'
import { validateConfig } from '../../../src/config/load.js'
import { createLogger } from '../../../src/observability/logger.js'
import { type RunningServer, startServer } from '../../../src/server.js'

export interface TestProxy extends RunningServer {
  /** Every JSON log line the proxy wrote, parsed. */
  readonly logs: Record<string, unknown>[]
  readonly rawLogs: string[]
}

/**
 * Tests of forwarding itself run as an anonymous admin that a rule lets reach any canonical path (routes
 * Flink does not have included), so authentication and authorization stay out of their way; the auth and
 * authz tests override `auth` and `authz`.
 */
/**
 * Following an action to its outcome (audit.followUp) asks Flink in the background after the answer; a test
 * counting what reached the stand-in would count those calls too, so it is off unless a test sets `audit`
 * (test/integration/audit-trail.test.ts, test/flink/audit-trail.test.ts).
 */
export const NO_AUDIT_FOLLOW_UP = { audit: { followUp: { enabled: false } } }

export const ANONYMOUS_ADMIN = {
  auth: { anonymous: { roles: ['tester'] } },
  authz: { roles: { tester: 'admin' }, rules: [{ effect: 'allow', path: '/**' }] },
}

/** The real proxy on ephemeral ports, in front of `upstreamUrl`, logging into memory. */
export async function startProxy(
  upstreamUrl: string,
  overrides: Record<string, unknown> = {},
): Promise<TestProxy> {
  const { config } = validateConfig(
    {
      listen: { port: 0 },
      admin: { port: 0 },
      ...ANONYMOUS_ADMIN,
      ...NO_AUDIT_FOLLOW_UP,
      ...overrides,
      upstream: { url: upstreamUrl, ...(overrides.upstream ?? {}) },
    },
    'test',
    {},
  )
  const rawLogs: string[] = []
  const sink = new Writable({
    write(chunk, _encoding, callback) {
      rawLogs.push(...String(chunk).split('\n').filter(Boolean))
      callback()
    },
  })
  const server = await startServer(config, createLogger('info', sink))
  return {
    ...server,
    rawLogs,
    get logs() {
      return rawLogs.map((line) => JSON.parse(line) as Record<string, unknown>)
    },
  }
}
