import { hash } from '@node-rs/bcrypt'
import { FlinkGuardError } from '../errors.js'
import { parseOptions } from './args.js'
import { readHidden, readStdin } from './read-secret.js'

export const DEFAULT_BCRYPT_COST = 12
const MIN_BCRYPT_COST = 4
const MAX_BCRYPT_COST = 31
/** bcrypt reads at most 72 bytes of a password and silently ignores the rest: refuse, never truncate. */
const MAX_BCRYPT_PASSWORD_BYTES = 72

export const HASH_PASSWORD_HELP = `Usage: flink-guard hash-password --user <name> [--cost <n>] [--password-stdin]

Prints an htpasswd line with a bcrypt ($2y$) hash, for auth.basic.htpasswd. The password is read from
the terminal without echo (asked twice), or from standard input when it is not a terminal or with
--password-stdin (one trailing newline is removed). It is never taken from the command line.

Options:
  --user <name>       the user name (required; no ":" or control characters)
  --cost <n>          bcrypt cost, ${MIN_BCRYPT_COST}-${MAX_BCRYPT_COST} (default ${DEFAULT_BCRYPT_COST}; each step doubles the work)
  --password-stdin    read the password from standard input even on a terminal
  -h, --help          show this help

Example:
  printf '%s' "$PASSWORD" | flink-guard hash-password --user alice >> users.htpasswd`

function usage(message: string): FlinkGuardError {
  return new FlinkGuardError('FG_ERR_CLI_USAGE', { message: `hash-password: ${message}` })
}

function costOption(value: string | undefined): number {
  if (value === undefined) return DEFAULT_BCRYPT_COST
  const cost = Number(value)
  if (!/^\d+$/.test(value) || cost < MIN_BCRYPT_COST || cost > MAX_BCRYPT_COST) {
    throw usage(`--cost must be a whole number from ${MIN_BCRYPT_COST} to ${MAX_BCRYPT_COST}, got "${value}"`)
  }
  return cost
}

function userOption(value: string | undefined): string {
  if (value === undefined || value === '') throw usage('--user <name> is required')
  if (
    value.includes(':') ||
    [...value].some((char) => char.charCodeAt(0) < 0x20 || char.charCodeAt(0) === 0x7f)
  ) {
    throw usage(`--user must not contain ":" or control characters, got ${JSON.stringify(value)}`)
  }
  return value
}

async function readPassword(fromStdin: boolean): Promise<string> {
  if (fromStdin || !process.stdin.isTTY) return (await readStdin()).replace(/\r?\n$/, '')
  const password = await readHidden('Password: ')
  if ((await readHidden('Retype password: ')) !== password) throw usage('the passwords do not match')
  return password
}

export async function hashPassword(argv: string[]): Promise<number> {
  const options = parseOptions(argv, {
    user: { type: 'string' },
    cost: { type: 'string' },
    'password-stdin': { type: 'boolean' },
  })
  if (options.help) {
    process.stdout.write(`${HASH_PASSWORD_HELP}\n`)
    return 0
  }
  const user = userOption(options.user)
  const cost = costOption(options.cost)
  const password = await readPassword(options['password-stdin'] === true)
  if (password === '') throw usage('the password is empty')
  if (Buffer.byteLength(password, 'utf8') > MAX_BCRYPT_PASSWORD_BYTES) {
    throw usage(
      `bcrypt uses only the first ${MAX_BCRYPT_PASSWORD_BYTES} bytes of a password; this one is longer`,
    )
  }
  process.stdout.write(`${await htpasswdLine(user, password, cost)}\n`)
  return 0
}

/** `user:$2y$…`: $2b$ and $2y$ are the same algorithm; Apache's htpasswd -B writes $2y$, and so does flink-guard. */
export async function htpasswdLine(user: string, password: string, cost: number): Promise<string> {
  return `${user}:${(await hash(password, cost)).replace(/^\$2b\$/, '$2y$')}`
}
