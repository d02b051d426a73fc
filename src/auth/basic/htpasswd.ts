import { type PasswordHash, parsePasswordHash } from './password-hash.js'

export interface ParsedHtpasswd {
  readonly users: ReadonlyMap<string, PasswordHash>
  /** One message per bad line, naming the line and the user, never the hash. */
  readonly problems: readonly string[]
}

/**
 * Parses an htpasswd file (`user:hash` per line, `#` comments and blank lines skipped). Every bad line is a
 * problem and the caller refuses the whole file: silently skipping a line would silently lock a user out.
 */
export function parseHtpasswd(text: string, allowWeakHashes: boolean): ParsedHtpasswd {
  const users = new Map<string, PasswordHash>()
  const problems: string[] = []
  for (const [index, rawLine] of text.split('\n').entries()) {
    const line = rawLine.replace(/\r$/, '').trim()
    if (line === '' || line.startsWith('#')) continue
    const where = `line ${index + 1}`
    const colon = line.indexOf(':')
    if (colon <= 0) {
      problems.push(`${where}: expected "user:hash"`)
      continue
    }
    const user = line.slice(0, colon)
    if (users.has(user)) {
      problems.push(`${where}: user ${JSON.stringify(user)} appears twice`)
      continue
    }
    const hash = parsePasswordHash(line.slice(colon + 1), allowWeakHashes)
    if (typeof hash === 'string') problems.push(`${where} (user ${JSON.stringify(user)}): ${hash}`)
    else users.set(user, hash)
  }
  return { users, problems }
}
