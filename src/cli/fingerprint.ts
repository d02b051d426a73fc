import { FlinkGuardError } from '../errors.js'
import { keytoolFingerprints } from '../tls/fingerprint.js'
import { StoreError } from '../tls/store-error.js'
import { listCertificates, readFile } from '../tls/stores.js'
import { parseWithPositionals } from './args.js'

export const FINGERPRINT_HELP = `Usage: flink-guard fingerprint <file> [--password <password>]

Prints the SHA-1 and SHA-256 fingerprints of every certificate in a PEM file, a DER certificate, or a
PKCS12 or JKS keystore or truststore, in keytool's format. The SHA-1 line is what Flink's
security.ssl.rest.cert.fingerprint and flink-guard's pinnedFingerprints take.

Options:
  --password <password>   the keystore password (PKCS12, JKS)
  -h, --help              show this help`

export async function fingerprint(argv: string[]): Promise<number> {
  const { values: options, positionals } = parseWithPositionals(argv, { password: { type: 'string' } })
  if (options.help) {
    process.stdout.write(`${FINGERPRINT_HELP}\n`)
    return 0
  }
  const file = positionals[0]
  if (file === undefined || positionals.length > 1) {
    throw new FlinkGuardError('FG_ERR_CLI_USAGE', { message: 'fingerprint: give exactly one file' })
  }
  try {
    for (const { alias, cert } of listCertificates(readFile(file), options.password)) {
      const name = alias === null ? '' : `Alias name: ${alias}\n`
      process.stdout.write(
        `${name}Owner: ${cert.subject.replaceAll('\n', ', ')}\n${keytoolFingerprints(cert)}\n\n`,
      )
    }
  } catch (err) {
    if (err instanceof StoreError) {
      throw new FlinkGuardError('FG_ERR_TLS_MATERIAL', { message: `${file}: ${err.message}`, cause: err })
    }
    throw err
  }
  return 0
}
