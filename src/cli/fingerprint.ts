import { FlinkGuardError } from '../errors.js'
import { keytoolFingerprints } from '../tls/fingerprint.js'
import { StoreError } from '../tls/store-error.js'
import { listCertificates, readFile } from '../tls/stores.js'
import { parseWithPositionals } from './args.js'
import { readHidden } from './read-secret.js'

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
    const data = readFile(file)
    const certificates = await withPassword(file, options.password, (password) =>
      listCertificates(data, password),
    )
    if (certificates.length === 0) {
      throw new StoreError('no-certificate', 'holds no certificate (a private key alone has no fingerprint)')
    }
    for (const { alias, cert } of certificates) {
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

/**
 * Opens the store with the password given; without one, as keytool does: a store that needs one asks for
 * it on a terminal, and says that it needs one anywhere else (rather than calling no password a wrong one).
 */
async function withPassword<T>(
  file: string,
  password: string | undefined,
  open: (password: string | undefined) => T,
): Promise<T> {
  try {
    return open(password)
  } catch (err) {
    if (password !== undefined || !(err instanceof StoreError) || err.problem !== 'wrong-store-password') {
      throw err
    }
  }
  if (process.stdin.isTTY !== true) {
    throw new FlinkGuardError('FG_ERR_CLI_USAGE', {
      message: `${file} is a keystore protected by a password: give it with --password <password>`,
    })
  }
  return open(await readHidden(`Password of ${file}: `))
}
