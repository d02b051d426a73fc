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
  'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE',
  'ERR_SSL_WRONG_VERSION_NUMBER',
])

/**
 * TLS alerts Flink sends when it rejects the proxy's client certificate (security.ssl.rest.authentication-enabled):
 * a server only ever judges the client's certificate, so these never mean Flink's own is at fault. Real Flink
 * (1.20, 2.3) answers an unpinned certificate with certificate_unknown (46).
 */
const CLIENT_CERT_REFUSED_CODES = new Set([
  'ERR_SSL_SSLV3_ALERT_CERTIFICATE_UNKNOWN',
  'ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE',
  'ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED',
  'ERR_SSL_SSLV3_ALERT_CERTIFICATE_REVOKED',
  'ERR_SSL_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE',
  'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA',
  'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED',
])

/**
 * Maps undici's failures to the proxy's registry. A gateway must say what went wrong *upstream*: no
 * connection is 503 (Flink's client retries it), a reset after the request went out is 502, silence is 504
 * (reply-from answers 500 for resets; that hides the cause).
 */
export function upstreamError(err: unknown): FlinkGuardError {
  if (err instanceof FlinkGuardError) return err
  const code = (err as { code?: string } | null)?.code
  if (code !== undefined && TLS_VERIFICATION_CODES.has(code)) {
    return new FlinkGuardError('FG_ERR_UPSTREAM_TLS', { cause: err })
  }
  if (code !== undefined && CLIENT_CERT_REFUSED_CODES.has(code)) {
    return new FlinkGuardError('FG_ERR_UPSTREAM_CLIENT_CERT', { cause: err })
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
