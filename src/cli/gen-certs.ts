import { existsSync } from 'node:fs'
import { isIP } from 'node:net'
import { join } from 'node:path'
import { FlinkGuardError } from '../errors.js'
import { generateCertificates } from '../tls/gen-certs.js'
import { parseOptions } from './args.js'

const DEFAULT_VALIDITY_DAYS = 825
/** RFC 1123 host names, with an optional leading wildcard label (RFC 6125 §6.4.3). */
const DNS_NAME = /^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i

export const GEN_CERTS_HELP = `Usage: flink-guard gen-certs --out <dir> [--dns <names>] [--ip <addresses>] [--password <p>]

Makes a private CA, a server certificate and a client certificate signed by it, as PEM files and as
PKCS12 keystores that keytool reads (keytool -list -storetype PKCS12 -keystore server.p12):
  ca.pem ca-key.pem  server.pem server-key.pem server.p12  client.pem client-key.pem client.p12
and ca.truststore.p12, a PKCS12 truststore holding the CA that Java reads (Flink's
security.ssl.rest.truststore, for the Flink CLI). It refuses to replace an existing CA in --out.

Options:
  --out <dir>            where to write (created; keys are mode 600)
  --dns <names>          comma-separated DNS names of the server certificate, a wildcard allowed
                         (default: localhost)
  --ip <addresses>       comma-separated IP addresses of the server certificate (default: 127.0.0.1)
  --client-name <cn>     Common Name of the client certificate (default: flink-client)
  --password <p>         PKCS12 password (default: changeit)
  --days <n>             validity in days (default: ${DEFAULT_VALIDITY_DAYS})
  --force                replace the files of an earlier run, CA and its key included
  -h, --help             show this help`

const list = (value: string | undefined, fallback: string[]) =>
  value === undefined
    ? fallback
    : value
        .split(',')
        .map((item) => item.trim())
        .filter((item) => item !== '')

export async function genCerts(argv: string[]): Promise<number> {
  const options = parseOptions(argv, {
    out: { type: 'string' },
    dns: { type: 'string' },
    ip: { type: 'string' },
    'client-name': { type: 'string' },
    password: { type: 'string' },
    days: { type: 'string' },
    force: { type: 'boolean' },
  })
  if (options.help) {
    process.stdout.write(`${GEN_CERTS_HELP}\n`)
    return 0
  }
  const usage = (message: string) =>
    new FlinkGuardError('FG_ERR_CLI_USAGE', { message: `gen-certs: ${message}` })
  if (options.out === undefined) throw usage('--out <dir> is required')
  // Replacing the CA silently would invalidate every certificate it signed and every truststore holding it.
  if (options.force !== true && existsSync(join(options.out, 'ca-key.pem'))) {
    throw usage(
      `${join(options.out, 'ca-key.pem')} exists: a new CA would not be trusted where the old one is. Use another --out, or --force to replace it`,
    )
  }
  const dns = list(options.dns, ['localhost'])
  const badName = dns.find((name) => !DNS_NAME.test(name))
  if (badName !== undefined) {
    throw usage(
      `--dns must list DNS names (letters, digits, hyphens; "*." first for a wildcard), got "${badName}"`,
    )
  }
  const ips = list(options.ip, ['127.0.0.1'])
  const bad = ips.find((ip) => isIP(ip) === 0)
  if (bad !== undefined) throw usage(`--ip must list IP addresses, got "${bad}"`)
  const days = Number(options.days ?? DEFAULT_VALIDITY_DAYS)
  if (!Number.isInteger(days) || days < 1)
    throw usage(`--days must be a positive whole number, got "${options.days}"`)
  const files = generateCertificates({
    dir: options.out,
    dns,
    ips,
    password: options.password ?? 'changeit',
    clientName: options['client-name'] ?? 'flink-client',
    validityDays: days,
  })
  process.stdout.write(`${files.join('\n')}\n`)
  return 0
}
