import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { generateCertificates } from '../tls/gen-certs.js'
import { htpasswdLine } from './hash-password.js'

/** Where `npm start` keeps what it generates on first run (git-ignored): the demo user's password and hash. */
export const DEMO_STATE_DIR = '.flink-guard'
export const DEMO_USER = 'demo'
const DEMO_BCRYPT_COST = 10

export interface DemoCredentials {
  readonly user: string
  readonly password: string
  readonly htpasswd: string
}

/**
 * The demo's user: a random password generated on first start, kept (mode 600) so it stays the same across
 * restarts, and stored for the proxy only as a bcrypt hash in an htpasswd file, as a real deployment would.
 */
export async function demoCredentials(baseDir = process.cwd()): Promise<DemoCredentials> {
  const dir = join(baseDir, DEMO_STATE_DIR)
  const passwordFile = join(dir, 'demo.password')
  const htpasswd = join(dir, 'users.htpasswd')
  if (existsSync(passwordFile) && existsSync(htpasswd)) {
    return { user: DEMO_USER, password: readFileSync(passwordFile, 'utf8').trim(), htpasswd }
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  const password = randomBytes(12).toString('base64url')
  writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 })
  writeFileSync(htpasswd, `${await htpasswdLine(DEMO_USER, password, DEMO_BCRYPT_COST)}\n`, { mode: 0o600 })
  return { user: DEMO_USER, password, htpasswd }
}

/** Days the development certificates last; `npm start` makes new ones once they are gone. */
const DEMO_CERT_DAYS = 365

/**
 * The demo's development CA and server certificate (localhost, 127.0.0.1, ::1), made on first start like
 * `flink-guard gen-certs`; returns the CA file clients pass to curl --cacert.
 */
export function demoCertificates(baseDir = process.cwd()): string {
  const dir = join(baseDir, DEMO_STATE_DIR, 'tls')
  const ca = join(dir, 'ca.pem')
  if (!existsSync(ca) || !existsSync(join(dir, 'server-key.pem'))) {
    generateCertificates({
      dir,
      dns: ['localhost'],
      ips: ['127.0.0.1', '::1'],
      password: 'changeit',
      clientName: 'demo-client',
      validityDays: DEMO_CERT_DAYS,
    })
  }
  return ca
}
