import type { ConnectionOptions, TLSSocket } from 'node:tls'
import { buildConnector } from 'undici'
import { FlinkGuardError } from '../errors.js'
import type { UpstreamTlsConfig } from '../tls/config.js'
import { pinsOf } from '../tls/server-tls.js'
import { StoreError } from '../tls/store-error.js'
import { keyMaterialFromKeystore, readFile, trustAnchors } from '../tls/stores.js'

/** Marks a pin mismatch so upstreamError() maps it to FG_ERR_UPSTREAM_TLS. */
export const UPSTREAM_PIN_MISMATCH = 'FG_UPSTREAM_PIN_MISMATCH'

function material<T>(key: string, file: string, read: (data: Buffer) => T): T {
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

/**
 * The connector to an https Flink (security.ssl.rest.enabled). Verification is on unless the config says
 * otherwise, and never silently: passing only `ca` to a proxy library leaves `rejectUnauthorized` as that
 * library defaults it (reply-from: false). The pin narrows trust on top of the CA check; the client
 * certificate answers Flink's security.ssl.rest.authentication-enabled.
 */
export function upstreamConnector(tls: UpstreamTlsConfig, timeoutMs: number): buildConnector.connector {
  const options: ConnectionOptions = { rejectUnauthorized: true }
  if (tls.truststore !== undefined) {
    const anchors = material('upstream.tls.truststore', tls.truststore, (data) =>
      trustAnchors(data, tls.truststorePassword),
    )
    options.ca = anchors.map((cert) => cert.toString())
  }
  if (tls.keystore !== undefined) {
    const keystore = tls.keystore
    const client = material('upstream.tls.keystore', keystore, (data) =>
      keyMaterialFromKeystore(data, { password: tls.keystorePassword, keyPassword: tls.keyPassword }),
    )
    options.key = client.key.export({ format: 'pem', type: 'pkcs8' })
    options.cert = client.chain.map((cert) => cert.toString()).join('')
  }
  if (tls.servername !== undefined) options.servername = tls.servername
  // Flink's security.ssl.verify-hostname: false keeps the CA check and drops only the name check.
  if (!tls.verifyHostname) options.checkServerIdentity = () => undefined
  const pins = pinsOf(tls.pinnedFingerprints)
  // A resumed TLS 1.2 session shows no peer certificate (getPeerCertificate() has no fingerprint), so with
  // pins every connection is a full handshake: the pin is checked on each one. Flink with mutual auth
  // speaks TLS 1.2 only, so this is the sidecar's everyday case.
  const connect = buildConnector({
    ...options,
    timeout: timeoutMs,
    ...(pins === null ? {} : { maxCachedSessions: 0 }),
  })
  if (pins === null) return connect
  return (connectOptions, callback) => {
    connect(connectOptions, (err, socket) => {
      if (err !== null) return callback(err, null)
      const certificate = (socket as TLSSocket).getPeerCertificate()
      if (pins.matches(certificate)) return callback(null, socket)
      socket.destroy()
      const mismatch = Object.assign(
        new Error(
          `Flink's certificate ${certificate.fingerprint256} is not in upstream.tls.pinnedFingerprints`,
        ),
        { code: UPSTREAM_PIN_MISMATCH },
      )
      callback(mismatch, null)
    })
  }
}
