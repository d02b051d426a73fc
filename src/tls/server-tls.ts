import type { X509Certificate } from 'node:crypto'
import type { SecureContextOptions } from 'node:tls'
import { FlinkGuardError } from '../errors.js'
import { resolveCiphers } from './ciphers.js'
import type { TlsConfig } from './config.js'
import { type Pin, PinSet, parsePin } from './fingerprint.js'
import { StoreError } from './store-error.js'
import {
  type KeyMaterial,
  keyMaterialFromKeystore,
  keyMaterialFromPem,
  readFile,
  trustAnchors,
} from './stores.js'

/** Everything the TLS listener is built from, read from the configured files. */
export interface ServerTlsMaterial {
  /** For `https.createServer` and, on reload, `server.setSecureContext`. */
  readonly context: SecureContextOptions
  readonly requestCert: boolean
  readonly rejectUnauthorized: boolean
  /** The proxy's own certificate: its expiry is watched. */
  readonly leaf: X509Certificate
  /** Every file the material came from: watched for hot reload. */
  readonly files: readonly string[]
}

/** Reads a file through `read`, turning a store problem into a one-line start-up error naming key and file. */
function fromFile<T>(key: string, file: string, read: (data: Buffer) => T): T {
  try {
    return read(readFile(file))
  } catch (err) {
    if (err instanceof StoreError) {
      throw new FlinkGuardError('FG_ERR_TLS_MATERIAL', {
        message: `"${key}" ${file}: ${err.message}`,
        cause: err,
      })
    }
    throw err
  }
}

export function keyMaterialOf(tls: TlsConfig): { material: KeyMaterial; files: string[] } {
  if (tls.keystore !== undefined) {
    const options = { password: tls.keystorePassword, keyPassword: tls.keyPassword, alias: tls.keyAlias }
    return {
      material: fromFile('tls.keystore', tls.keystore, (data) => keyMaterialFromKeystore(data, options)),
      files: [tls.keystore],
    }
  }
  const certFile = tls.cert!
  const keyFile = tls.key!
  const files = [certFile, keyFile, ...(tls.chain === undefined ? [] : [tls.chain])]
  const key = fromFile('tls.key', keyFile, (data) => data)
  const chain = tls.chain === undefined ? null : fromFile('tls.chain', tls.chain, (data) => data)
  const material = fromFile('tls.cert', certFile, (cert) =>
    keyMaterialFromPem(cert, key, chain, tls.keyPassword),
  )
  return { material, files }
}

export function pinsOf(pins: readonly string[]): PinSet | null {
  if (pins.length === 0) return null
  return new PinSet(pins.map((pin) => parsePin(pin) as Pin))
}

const toPem = (certificates: readonly X509Certificate[]) =>
  certificates.map((cert) => cert.toString()).join('')

/**
 * Builds the listener's TLS settings. Key and chain are passed as `key`/`cert`, never as `pfx`: Node would
 * make every CA certificate inside a keystore a trust anchor for client certificates. Trust anchors are
 * passed as PEM, the only form in which Node's `ca` really trusts them.
 */
export function loadServerTls(tls: TlsConfig): ServerTlsMaterial {
  const { material, files } = keyMaterialOf(tls)
  const context: SecureContextOptions = {
    key: material.key.export({ format: 'pem', type: 'pkcs8' }),
    cert: toPem(material.chain),
    minVersion: tls.minVersion,
    ...(tls.maxVersion === undefined ? {} : { maxVersion: tls.maxVersion }),
    // Flink's recommended suite list includes DHE ones, which need DH parameters.
    dhparam: 'auto',
    honorCipherOrder: true,
    // Tickets themselves, on or off, are sealed or refused by SessionTickets (session-tickets.ts).
    sessionTimeout: tls.sessionLifetimeSec,
  }
  if (tls.ciphers !== undefined) {
    const resolved = resolveCiphers(tls.ciphers)
    if (resolved.ok) context.ciphers = resolved.openssl
  }
  if (tls.truststore !== undefined) {
    const anchors = fromFile('tls.truststore', tls.truststore, (data) =>
      trustAnchors(data, tls.truststorePassword),
    )
    context.ca = toPem(anchors)
    files.push(tls.truststore)
  }
  return {
    context,
    requestCert: tls.clientAuth !== 'none',
    rejectUnauthorized: tls.clientAuth === 'require',
    leaf: material.chain[0]!,
    files: [...new Set(files)],
  }
}
