import { FlinkGuardError } from '../errors.js'

/**
 * Maps undici's failures to the proxy's registry. A gateway must say what went wrong *upstream*:
 * refused or reset is 502, silence is 504 (reply-from answers 500 for resets; that hides the cause).
 */
export function upstreamError(err: unknown): FlinkGuardError {
  if (err instanceof FlinkGuardError) return err
  const code = (err as { code?: string } | null)?.code
  switch (code) {
    case 'UND_ERR_CONNECT_TIMEOUT':
      return new FlinkGuardError('FG_ERR_UPSTREAM_CONNECT_TIMEOUT', { cause: err })
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
      return new FlinkGuardError('FG_ERR_UPSTREAM_TIMEOUT', { cause: err })
    case 'ECONNREFUSED':
    case 'ECONNRESET':
    case 'EPIPE':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
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
