#!/usr/bin/env node
import { checkConfig } from './cli/check-config.js'
import { demo } from './cli/demo.js'
import { fingerprint } from './cli/fingerprint.js'
import { genCerts } from './cli/gen-certs.js'
import { hashPassword } from './cli/hash-password.js'
import { serve } from './cli/serve.js'
import { standin } from './cli/standin.js'
import { FlinkGuardError } from './errors.js'
import { VERSION } from './version.js'

const HELP = `Usage: flink-guard <command> [options]

An authenticating HTTPS reverse proxy for Apache Flink's REST API and web dashboard.

Commands:
  serve          run the proxy (--config <file> or $FLINK_GUARD_CONFIG)
  check-config   validate a config file and print the effective config, secrets masked
  standin        run the Flink REST stand-in (a fake JobManager REST endpoint for demos and tests)
  demo           the quick start: the stand-in with flink-guard in front of it
  hash-password  print an htpasswd line with a bcrypt hash, for auth.basic
  gen-certs      make a private CA with server and client certificates (PEM and PKCS12)
  fingerprint    print the SHA-1 and SHA-256 fingerprints of a certificate or keystore
  version        print the version (also --version, -v)

Run 'flink-guard <command> --help' for a command's options.`

const COMMANDS: Record<string, (argv: string[]) => Promise<number>> = {
  serve,
  'check-config': checkConfig,
  standin,
  demo,
  'hash-password': hashPassword,
  'gen-certs': genCerts,
  fingerprint,
}

/** Exit codes: 0 done, 1 failed while running, 2 bad command line, invalid config or unusable TLS files. */
async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${HELP}\n`)
    return name === undefined ? 2 : 0
  }
  if (name === '--version' || name === '-v' || name === 'version') {
    process.stdout.write(`flink-guard ${VERSION}\n`)
    return 0
  }
  const command = COMMANDS[name]
  if (command === undefined) {
    process.stderr.write(`flink-guard: unknown command "${name}"\n\n${HELP}\n`)
    return 2
  }
  return command(rest)
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code
  },
  (err: unknown) => {
    if (err instanceof FlinkGuardError) {
      // Known failures are one clear message, never a stack trace.
      process.stderr.write(`flink-guard: ${err.message}\n`)
      const usage =
        err.code === 'FG_ERR_CLI_USAGE' ||
        err.code.startsWith('FG_ERR_CONFIG_') ||
        err.code === 'FG_ERR_TLS_MATERIAL'
      process.exit(usage ? 2 : 1)
    }
    process.stderr.write(`flink-guard: unexpected failure\n${(err as Error).stack ?? String(err)}\n`)
    process.exit(1)
  },
)
