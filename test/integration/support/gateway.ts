import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { hashSync } from '@node-rs/bcrypt'
import { validateConfig } from '../../../src/config/load.js'
import { createLogger } from '../../../src/observability/logger.js'
import { type RunningServer, startServer } from '../../../src/server.js'
import { NO_AUDIT_FOLLOW_UP } from './proxy.js'

export const GATEWAY_PASSWORD = 'gateway-secret'

/** An htpasswd file with every user on GATEWAY_PASSWORD. */
export function htpasswdFor(users: readonly string[]): string {
  const path = join(mkdtempSync(join(tmpdir(), 'fg-gateway-')), 'users.htpasswd')
  const hash = hashSync(GATEWAY_PASSWORD, 4)
  writeFileSync(path, users.map((user) => `${user}:${hash}\n`).join(''))
  return path
}

export const basicAuth = (user: string, password = GATEWAY_PASSWORD) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`

/** flink-guard from a whole config (clusters, yarn: no top-level upstream forced in), on ephemeral ports. */
export async function startGateway(config: Record<string, unknown>): Promise<RunningServer> {
  const loaded = validateConfig(
    { listen: { port: 0 }, admin: { port: 0 }, ...NO_AUDIT_FOLLOW_UP, ...config },
    'test',
    {},
  )
  const quiet = new Writable({ write: (_chunk, _encoding, callback) => callback() })
  return startServer(loaded.config, createLogger('warn', quiet))
}
