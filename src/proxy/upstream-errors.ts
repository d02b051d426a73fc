import { FlinkGuardError } from '../errors.js'
import { UPSTREAM_PIN_MISMATCH } from './upstream-tls.js'

/** Node's and OpenSSL's codes for a certificate that failed verification. */
const TLS_VERIFICATION_CODES = new Set([
  UPSTREAM_PIN_MISMATCH,
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
  'ERR_SSL_WRONG_VERSION_NUMBER',
])

/**
 * A TLS alert the peer sent, by its RFC 8446 name: Node spells the code after OpenSSL's reason string, which
 * changed between OpenSSL 3.0 (Node 20: `ERR_SSL_SSLV3_ALERT_CERTIFICATE_UNKNOWN`) and 3.5 (Node 22+:
 * `ERR_SSL_SSL/TLS_ALERT_CERTIFICATE_UNKNOWN`), and TLS 1.3's own alerts read `ERR_SSL_TLSV13_ALERT_...`.
 */
const TLS_ALERT = /^ERR_SSL_(?:SSLV3|SSL\/TLS|TLSV1|TLSV13)_ALERT_([A-Z_]+)$/

/** An alert that ends the handshake without naming a side (no common version or cipher, or no certificate). */
const HANDSHAKE_ALERTS = new Set(['HANDSHAKE_FAILURE', 'PROTOCOL_VERSION', 'INSUFFICIENT_SECURITY'])

/**
 * TLS alerts Flink sends when it rejects the proxy's client certificate (security.ssl.rest.authentication-enabled):
 * a server only ever judges the client's certificate, so these never mean Flink's own is at fault. Real Flink
 * (1.20, 2.3) answers an unpinned certificate with certificate_unknown (46).
 */
const CLIENT_CERT_ALERTS = new Set([
  'CERTIFICATE_UNKNOWN',
  'BAD_CERTIFICATE',
  'CERTIFICATE_EXPIRED',
  'CERTIFICATE_REVOKED',
  'UNSUPPORTED_CERTIFICATE',
  'UNKNOWN_CA',
  'CERTIFICATE_REQUIRED',
])

/**
 * Maps undici's failures to the proxy's registry. A gateway must say what went wrong *upstream*: no
 * connection is 503 (Flink's client retries it), a reset after the request went out is 502, silence is 504
 * (reply-from answers 500 for resets; that hides the cause).
 */
export function upstreamError(err: unknown): FlinkGuardError {
  if (err instanceof FlinkGuardError) return err
  const code = (err as { code?: string } | null)?.code
  const alert = code === undefined ? undefined : TLS_ALERT.exec(code)?.[1]
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    // Flink's SSL recipe makes a certificate for the JobManager's DNS name; a sidecar reaches it on loopback.
    const reason = (err as { reason?: string }).reason ?? 'host name mismatch'
    return new FlinkGuardError('FG_ERR_UPSTREAM_TLS', {
      message: `The Flink REST endpoint's certificate does not name the host flink-guard connects to (${reason}): set upstream.tls.servername to a name in it`,
      cause: err,
    })
  }
  if ((code !== undefined && TLS_VERIFICATION_CODES.has(code)) || (alert && HANDSHAKE_ALERTS.has(alert))) {
    return new FlinkGuardError('FG_ERR_UPSTREAM_TLS', { cause: err })
  }
  if (alert !== undefined && CLIENT_CERT_ALERTS.has(alert)) {
    return new FlinkGuardError('FG_ERR_UPSTREAM_CLIENT_CERT', { cause: err })
  }
  // undici 7 leaves `code` unset on some parser errors (bytes that are not HTTP at all): the class still says it.
  if ((err as Error | null)?.name === 'HTTPParserError') {
    return new FlinkGuardError('FG_ERR_UPSTREAM_BAD_RESPONSE', { cause: err })
  }
  switch (code) {
    case 'UND_ERR_CONNECT_TIMEOUT':
      return new FlinkGuardError('FG_ERR_UPSTREAM_CONNECT_TIMEOUT', { cause: err })
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
      return new FlinkGuardError('FG_ERR_UPSTREAM_TIMEOUT', { cause: err })
    case 'ECONNREFUSED':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new FlinkGuardError('FG_ERR_UPSTREAM_UNAVAILABLE', { cause: err })
    case 'ECONNRESET':
    case 'EPIPE':
    case 'UND_ERR_SOCKET':
    case 'UND_ERR_CLOSED':
      return new FlinkGuardError('FG_ERR_UPSTREAM_UNREACHABLE', { cause: err })
    case 'HPE_INVALID_CONSTANT':
    case 'HPE_INVALID_STATUS':
    case 'HPE_INVALID_HEADER_TOKEN':
    case 'UND_ERR_INFO':
    case 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH':
      return new FlinkGuardError('FG_ERR_UPSTREAM_BAD_RESPONSE', { cause: err })
    default:
      return new FlinkGuardError('FG_ERR_UPSTREAM_UNREACHABLE', { cause: err })
  }
}
