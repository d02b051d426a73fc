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
  /** Sent as `Retry-After` (seconds): for refusals a client should retry as they are. */
  readonly retryAfterSec?: number
}

export const ERRORS = {
  // Start-up and command line
  FG_ERR_CONFIG_INVALID: { status: null, message: 'The configuration is invalid' },
  FG_ERR_CONFIG_UNREADABLE: { status: null, message: 'The configuration file cannot be read' },
  FG_ERR_CLI_USAGE: { status: null, message: 'The command line is invalid' },
  FG_ERR_LISTEN_FAILED: { status: null, message: 'A listener could not be opened' },
  FG_ERR_TLS_MATERIAL: {
    status: null,
    message: 'A certificate, key, keystore or truststore cannot be used',
  },

  // Requests as they arrive
  FG_ERR_REQUEST_MALFORMED: { status: 400, message: 'The request is malformed' },
  FG_ERR_UPLOAD_NOT_A_JAR: {
    status: 415,
    message: 'The upload is refused: it is not a jar file (limits.uploads.jarFilesOnly)',
  },
  FG_ERR_UPLOAD_NOT_ALLOWED: {
    status: 403,
    message: "The upload is refused: the jar's SHA-256 is not in limits.uploads.allowedSha256",
  },
  FG_ERR_REQUEST_BODY_TOO_LARGE: { status: 413, message: 'The request body exceeds the configured limit' },
  FG_ERR_REQUEST_HEADERS_TOO_LARGE: { status: 431, message: 'The request headers are too large' },
  FG_ERR_REQUEST_TIMEOUT: { status: 408, message: 'The request was not received in time' },
  FG_ERR_REQUEST_TOO_MANY_CONNECTIONS: {
    status: 503,
    message: 'Too many open connections; retry shortly',
    retryAfterSec: 1,
  },
  FG_ERR_REQUEST_RATE_LIMITED: {
    status: 429,
    message: 'Too many failed or unauthenticated requests from this address; retry later',
  },
  FG_ERR_REQUEST_EXPECTATION_FAILED: { status: 417, message: 'Only "Expect: 100-continue" is supported' },

  // Forwarding to Flink. Flink's RestClusterClient retries a 503 (and its own connection errors) but no other
  // status, so the request that never reached Flink is a 503: a restarting JobManager is ridden out by the CLI
  // and the operator as it would be without the proxy. A reset after the request was sent is a 502, never
  // retried, since Flink may have acted on it.
  FG_ERR_UPSTREAM_UNAVAILABLE: {
    status: 503,
    message: 'The Flink REST endpoint is not accepting connections; retry shortly',
    retryAfterSec: 1,
  },
  FG_ERR_UPSTREAM_UNREACHABLE: {
    status: 502,
    message: 'The Flink REST endpoint reset or closed the connection',
  },
  FG_ERR_JOB_OWNERS_UNAVAILABLE: {
    status: 503,
    retryAfterSec: 1,
    message: "Who submitted the job could not be read (jobOwners' file or Redis); retry shortly",
  },
  FG_ERR_UPSTREAM_BAD_RESPONSE: { status: 502, message: 'The Flink REST endpoint sent an invalid response' },
  FG_ERR_UPSTREAM_CONNECT_TIMEOUT: {
    status: 503,
    retryAfterSec: 1,
    message: 'The Flink REST endpoint did not accept a connection in time',
  },
  FG_ERR_UPSTREAM_TIMEOUT: { status: 504, message: 'The Flink REST endpoint did not answer in time' },
  FG_ERR_UPSTREAM_TLS: {
    status: 502,
    message: "The Flink REST endpoint's certificate was not trusted (CA, host name or pinned fingerprint)",
  },
  FG_ERR_UPSTREAM_CLIENT_CERT: {
    status: 502,
    message: "The Flink REST endpoint refused flink-guard's client certificate (upstream.tls.keystore)",
  },

  // Upstream resolution (src/upstream/): which cluster or YARN application a request addresses.
  FG_ERR_CLUSTER_UNKNOWN: { status: 404, message: 'No Flink cluster is known by this address' },
  FG_ERR_CLUSTER_STARTING: {
    status: 503,
    retryAfterSec: 5,
    message: 'The Flink application is starting; retry shortly',
  },
  FG_ERR_CLUSTER_FINISHED: { status: 404, message: 'The Flink application has finished' },
  FG_ERR_CLUSTER_ADDRESS_REFUSED: {
    status: 502,
    message: "The application's address is outside yarn.allowedHosts / yarn.allowedPorts",
  },
  FG_ERR_CLUSTER_IDENTITY: {
    status: 502,
    message: 'The Flink REST endpoint at the registered address is not this application',
  },
  FG_ERR_CLUSTER_DISCOVERY: {
    status: 503,
    retryAfterSec: 2,
    message: 'No ResourceManager could be asked about the application; retry shortly',
  },

  // Admin listener
  FG_ERR_ADMIN_NOT_FOUND: { status: 404, message: 'No such admin endpoint' },
  FG_ERR_ADMIN_NOT_READY: { status: 503, message: 'flink-guard is not ready' },

  // Authentication (src/auth/): a present but bad credential is a 401, never a fall-through.
  FG_ERR_AUTH_REQUIRED: { status: 401, message: 'Authentication is required' },
  FG_ERR_AUTH_INVALID_TOKEN: { status: 401, message: 'The bearer token is invalid' },
  FG_ERR_AUTH_BAD_CREDENTIALS: { status: 401, message: 'The user name or password is wrong' },
  FG_ERR_AUTH_CLIENT_CERT: { status: 401, message: 'The client certificate does not identify a user' },
  FG_ERR_AUTH_SESSION_INVALID: { status: 401, message: 'The login session is invalid or has expired' },
  FG_ERR_AUTH_THROTTLED: { status: 429, message: 'Too many failed attempts; retry later' },
  FG_ERR_AUTH_LOGIN_FAILED: {
    status: 401,
    message: 'The login could not be completed; open the page again to start a new login',
  },
  // A login or a token whose key is not known yet that needs the identity provider while it is down: 503 with
  // Retry-After (a good credential may succeed later), never a 401 that says the credential is bad.
  FG_ERR_AUTH_PROVIDER_UNAVAILABLE: {
    status: 503,
    retryAfterSec: 5,
    message: 'The identity provider (OpenID provider or its JWKS) could not be reached; retry shortly',
  },
  FG_ERR_AUTH_UNSUPPORTED_SCHEME: {
    status: 401,
    message: 'The Authorization header uses a scheme this proxy does not accept',
  },
  FG_ERR_AUTH_IDENTITY_UNSAFE: {
    status: 403,
    message: 'Your user name or a role contains control characters and cannot be passed to Flink',
  },
  FG_ERR_AUTH_CROSS_SITE: {
    status: 403,
    message: 'A request that changes state must come from this site',
  },

  // Authorization
  // Canonical paths (src/authz/canonical-path.ts, params.ts): an ambiguous path is refused, never guessed.
  FG_ERR_PATH_NOT_ORIGIN_FORM: {
    status: 400,
    message: 'The request target must be a path starting with "/"',
  },
  FG_ERR_PATH_TOO_LONG: { status: 400, message: 'The request path is too long' },
  FG_ERR_PATH_INVALID_CHAR: {
    status: 400,
    message: 'The request path contains a character not allowed in a URL path',
  },
  FG_ERR_PATH_CONTROL_CHAR: {
    status: 400,
    message: 'The request target contains a NUL or control character',
  },
  FG_ERR_PATH_BAD_ENCODING: { status: 400, message: 'The request path contains an invalid percent-encoding' },
  FG_ERR_PATH_BAD_UTF8: { status: 400, message: 'The request path does not decode to valid UTF-8' },
  FG_ERR_PATH_DOUBLE_ENCODED: {
    status: 400,
    message: 'The request path contains an encoded "%" (double encoding)',
  },
  FG_ERR_PATH_ENCODED_SEPARATOR: { status: 400, message: 'The request path contains an encoded "/" or "\\"' },
  FG_ERR_PATH_BACKSLASH: { status: 400, message: 'The request path contains a "\\"' },
  FG_ERR_PATH_DOT_SEGMENT: {
    status: 400,
    message: 'The request path contains a dot segment or an encoded "."',
  },
  FG_ERR_PATH_EMPTY_SEGMENT: { status: 400, message: 'The request path contains an empty segment ("//")' },
  FG_ERR_PATH_MATRIX_PARAM: { status: 400, message: 'The request path contains a ";" parameter' },
  FG_ERR_PATH_PARAM_INVALID: {
    status: 400,
    message: 'A path parameter has an invalid value for this Flink route',
  },
  // Decisions (src/authz/decide.ts): a denial is a 403 with its reason, never a 404.
  FG_ERR_AUTHZ_NETWORK_DENIED: {
    status: 403,
    message: 'Your network address is not in authz.allowedNetworks',
  },
  FG_ERR_AUTHZ_UNKNOWN_ROUTE: {
    status: 403,
    message: 'This route is not known to flink-guard and no rule allows it',
  },
  FG_ERR_AUTHZ_NO_PRESET: { status: 403, message: 'None of your roles is mapped to a preset' },
  FG_ERR_AUTHZ_PRESET_INSUFFICIENT: { status: 403, message: 'Your preset does not allow this Flink action' },
  FG_ERR_AUTHZ_RULE_DENIED: { status: 403, message: 'An authorization rule denies this request' },
  FG_ERR_AUTHZ_ARGUMENT_DENIED: {
    status: 403,
    message: 'The arguments of this action are not allowed',
  },
  FG_ERR_AUTHZ_JOB_OUT_OF_SCOPE: {
    status: 403,
    message: 'This job is not one of yours',
  },
  FG_ERR_AUTHZ_PROFILE_DENIED: {
    status: 403,
    message: 'This Flink action is not one of the calls your client profile allows',
  },

  // Forward-auth checks of a front proxy (src/forward-auth/)
  FG_ERR_FORWARD_AUTH_PEER_DENIED: {
    status: 403,
    message: 'This peer is not in forwardAuth.allowFrom: it may not ask for authorization checks',
  },
  FG_ERR_FORWARD_AUTH_MALFORMED: {
    status: 400,
    message:
      'A forward-auth check must describe one request: X-Original-Method with X-Original-URI or X-Original-URL',
  },

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

/**
 * The body of every error response: exactly Flink's own shape. Flink's RestClient reads a body as an error only
 * when `errors` is its only field (RestClient#parseResponse tries ErrorResponseBody, which fails on unknown
 * properties, and ignores the HTTP status), so a second field made a refused `flink cancel` print "Cancelled job".
 */
export interface ErrorBody {
  errors: string[]
}

/** The machine-readable code travels in this response header, where Flink's clients do not look. */
export const ERROR_CODE_HEADER = 'x-flink-guard-error'

export function errorBody(error: FlinkGuardError): ErrorBody {
  return { errors: [error.message] }
}
