import { stringify } from 'yaml'
import { ConfigError, loadConfigFile, maskedConfig } from '../config/load.js'
import { inUserKeys } from '../config/origins.js'
import { configPath, parseOptions } from './args.js'
import { fileProblems } from './check-files.js'
import { upstreamNameWarnings } from './upstream-names.js'

export const CHECK_CONFIG_HELP = `Usage: flink-guard check-config --config <file> [--strict] [--no-files]

Validates a config file as serve does, opens every file it names (keystores and truststores with their
passwords, the htpasswd file, JWT key files, CA files), and prints the effective config (defaults
applied, secrets masked). Exits 0 when valid, 2 with every problem listed when not. Nothing is fetched
from the network: JWKS and OIDC discovery are checked by /readyz/strict at run time. Warnings go to stderr:
credentials over plain HTTP beyond loopback, plain http: to a remote Flink, the admin port beyond
loopback, and Flink's REST endpoint not bound to loopback (read through flinkConf).

Options:
  --config <file>   the config file (default: $FLINK_GUARD_CONFIG)
  --strict          exit 2 on warnings too
  --no-files        check the config alone, on a machine without the files it names: keystores,
                    htpasswd and key files are not opened, \${file:} and unset \${env:} references
                    are taken as placeholders (flinkConf is still read)
  -h, --help        show this help`

export async function checkConfig(argv: string[]): Promise<number> {
  const options = parseOptions(argv, {
    config: { type: 'string' },
    strict: { type: 'boolean' },
    'no-files': { type: 'boolean' },
  })
  if (options.help) {
    process.stdout.write(`${CHECK_CONFIG_HELP}\n`)
    return 0
  }
  const file = configPath(options.config)
  const noFiles = options['no-files'] === true
  // --no-files: no ${file:} is read and no ${env:} must be set (a ConfigMap linted in CI).
  const loaded = loadConfigFile(file, process.env, { placeholders: noFiles })
  const problems = noFiles ? [] : await fileProblems(loaded.config)
  // The same shape as an invalid config: every problem, one line each, exit 2.
  if (problems.length > 0) {
    throw new ConfigError(
      file,
      problems.map((problem) => inUserKeys(problem, loaded.origins)),
    )
  }
  const warnings = [...loaded.warnings, ...(noFiles ? [] : upstreamNameWarnings(loaded.config))]
  for (const warning of warnings) process.stderr.write(`flink-guard: warning: ${warning}\n`)
  if (options.strict && warnings.length > 0) {
    process.stderr.write(`flink-guard: ${file}: ${warnings.length} warning(s), refused by --strict\n`)
    return 2
  }
  process.stdout.write(
    `# ${file}: valid. Effective configuration (secrets masked):\n${stringify(maskedConfig(loaded))}`,
  )
  return 0
}
