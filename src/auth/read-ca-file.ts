import { readFileSync } from 'node:fs'
import { ConfigError } from '../config/load.js'

/** A PEM CA bundle named by `<section>.caFile`; unreadable is a config error naming that key. */
export function readCaFile(file: string, section: string): string {
  try {
    return readFileSync(file, 'utf8')
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code ?? 'error'
    throw new ConfigError(section, [`"${section}.caFile": ${file}: cannot read (${reason})`])
  }
}
