/**
 * The one registry of flink-guard's error codes (`FG_ERR_<AREA>_<WHAT>`).
 *
 * Every refusal a client or an operator can see is defined here, once, with its HTTP status
 * (null for errors that stop the process instead of answering a request) and the message a
 * client is shown. `docs/errors.md` lists every code; a test fails when one is missing there.
 * Callers switch on `err.code`, never on messages.
 */

interface ErrorDefinition {
  /** HTTP status sent to the client, or null for start-up / command-line errors. */
  readonly status: number | null
  /** The message shown to clients (Flink's `{"errors": [...]}` shape) unless a more specific one is given. */
  readonly message: string
}

export const ERRORS = {
  // Start-up and command line
  FG_ERR_CONFIG_INVALID: { status: null, message: 'The configuration is invalid' },
  FG_ERR_CONFIG_UNREADABLE: { status: null, message: 'The configuration file cannot be read' },
  FG_ERR_CLI_USAGE: { status: null, message: 'The command line is invalid' },
  FG_ERR_LISTEN_FAILED: { status: null, message: 'A listener could not be opened' },

  // Requests as they arrive
  FG_ERR_REQUEST_MALFORMED: { status: 400, message: 'The request is malformed' },
  FG_ERR_REQUEST_BODY_TOO_LARGE: { status: 413, message: 'The request body exceeds the configured limit' },
  FG_ERR_REQUEST_HEADERS_TOO_LARGE: { status: 431, message: 'The request headers are too large' },
  FG_ERR_REQUEST_TIMEOUT: { status: 408, message: 'The request was not received in time' },
  FG_ERR_REQUEST_EXPECTATION_FAILED: { status: 417, message: 'Only "Expect: 100-continue" is supported' },

  // Forwarding to Flink
  FG_ERR_UPSTREAM_UNREACHABLE: {
    status: 502,
    message: 'The Flink REST endpoint refused or reset the connection',
  },
  FG_ERR_UPSTREAM_BAD_RESPONSE: { status: 502, message: 'The Flink REST endpoint sent an invalid response' },
  FG_ERR_UPSTREAM_CONNECT_TIMEOUT: {
    status: 504,
    message: 'The Flink REST endpoint did not accept a connection in time',
  },
  FG_ERR_UPSTREAM_TIMEOUT: { status: 504, message: 'The Flink REST endpoint did not answer in time' },

  // Admin listener
  FG_ERR_ADMIN_NOT_FOUND: { status: 404, message: 'No such admin endpoint' },
  FG_ERR_ADMIN_NOT_READY: { status: 503, message: 'flink-guard is not ready' },

  // Anything unforeseen: the details go to the log, never to the client.
  FG_ERR_PROXY_INTERNAL: { status: 500, message: 'Internal proxy error' },
} as const satisfies Record<string, ErrorDefinition>

export type ErrorCode = keyof typeof ERRORS

export class FlinkGuardError extends Error {
  readonly code: ErrorCode
  readonly statusCode: number

  constructor(code: ErrorCode, options: { message?: string; cause?: unknown } = {}) {
    super(options.message ?? ERRORS[code].message, { cause: options.cause })
    this.name = 'FlinkGuardError'
    this.code = code
    this.statusCode = ERRORS[code].status ?? 500
  }
}

/** The body of every error response: Flink's own shape, so the dashboard and CLI show it, plus our code. */
export interface ErrorBody {
  errors: string[]
  code: ErrorCode
}

export function errorBody(error: FlinkGuardError): ErrorBody {
  return { errors: [error.message], code: error.code }
}
