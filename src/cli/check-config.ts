import { stringify } from 'yaml'
import { loadConfigFile, maskedConfig } from '../config/load.js'
import { configPath, parseOptions } from './args.js'

export const CHECK_CONFIG_HELP = `Usage: flink-guard check-config --config <file>

Validates a config file exactly as serve does and prints the effective config (defaults applied,
secrets masked). Exits 0 when valid, 2 with every problem listed when not.

Options:
  --config <file>   the config file (default: $FLINK_GUARD_CONFIG)
  -h, --help        show this help`

export async function checkConfig(argv: string[]): Promise<number> {
  const options = parseOptions(argv, { config: { type: 'string' } })
  if (options.help) {
    process.stdout.write(`${CHECK_CONFIG_HELP}\n`)
    return 0
  }
  const file = configPath(options.config)
  const loaded = loadConfigFile(file)
  process.stdout.write(
    `# ${file}: valid. Effective configuration (secrets masked):\n${stringify(maskedConfig(loaded))}`,
  )
  return 0
}
