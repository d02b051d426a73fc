import { type ParseArgsConfig, parseArgs } from 'node:util'
import { FlinkGuardError } from '../errors.js'

export type Options = NonNullable<ParseArgsConfig['options']>

/** Strict option parsing shared by every command: an unknown or malformed option is a usage error (exit 2). */
export function parseOptions<T extends Options>(argv: string[], options: T) {
  const { values, positionals } = parseWithPositionals(argv, options)
  if (positionals.length > 0) {
    throw new FlinkGuardError('FG_ERR_CLI_USAGE', { message: `unexpected argument "${positionals[0]}"` })
  }
  return values
}

/** As parseOptions, for commands that also take operands (`flink-guard fingerprint <file>`). */
export function parseWithPositionals<T extends Options>(argv: string[], options: T) {
  try {
    return parseArgs({
      args: argv,
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: true,
    })
  } catch (err) {
    throw new FlinkGuardError('FG_ERR_CLI_USAGE', { message: parseArgsMessage(err as Error), cause: err })
  }
}

/**
 * Node's unknown-option text ends in an unbalanced quote (`as in '-- "--confg"`) and advises about
 * positionals none of our commands need: say what was wrong and where the options are listed.
 */
function parseArgsMessage(err: Error & { code?: string }): string {
  const unknown = /^Unknown option '([^']+)'/.exec(err.message)
  if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && unknown !== null) {
    return `unknown option "${unknown[1]}" (--help lists the options)`
  }
  return err.message
}

export function portOption(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback
  const port = Number(value)
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new FlinkGuardError('FG_ERR_CLI_USAGE', {
      message: `--${name} must be a port number (0-65535), got "${value}"`,
    })
  }
  return port
}

/** The config file from `--config`, else FLINK_GUARD_CONFIG. */
export function configPath(value: string | undefined): string {
  const file = value ?? process.env.FLINK_GUARD_CONFIG
  if (file === undefined || file === '') {
    throw new FlinkGuardError('FG_ERR_CLI_USAGE', {
      message: 'no config file: pass --config <file> or set FLINK_GUARD_CONFIG',
    })
  }
  return file
}
