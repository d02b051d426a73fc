import type { TLSSocket } from 'node:tls'
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest, LogController } from 'fastify'
import { addressKey } from './auth/basic/throttle.js'
import { originOf, refusesCrossSite } from './auth/cross-site.js'
import type { Identity } from './auth/identity.js'
import { loginRoutes, redirect } from './auth/oidc/login-routes.js'
import { whoAmIRoutes } from './auth/who-am-i.js'
import { type AuthzRecord, authorizeRequest } from './authz/authorize-request.js'
import { type CanonicalPath, canonicalize } from './authz/canonical-path.js'
import type { Config } from './config/schema.js'
import { replyToClientError, replyToUnsupportedExpectation, replyWithError } from './error-reply.js'
import { FlinkGuardError } from './errors.js'
import { answerCheck } from './forward-auth/answer.js'
import { submissionStage } from './job-owners/record-submitter.js'
import { jobScopeStage } from './job-scope/stage.js'
import { logAccess, markAccessStart } from './observability/access-log.js'
import type { FlinkOutcome } from './observability/audit.js'
import type { Logger } from './observability/logger.js'
import type { ProxyMetrics } from './observability/metrics.js'
import { requestIdOf } from './observability/request-id.js'
import { ROUTE_LABEL_INVALID, ROUTE_LABEL_UNKNOWN, routeLabelOf } from './observability/route-label.js'
import type { Pipeline } from './pipeline/pipeline.js'
import type { PipelineSwitch } from './pipeline/pipeline-switch.js'
import type { BodyLimit } from './proxy/body-limit.js'
import { bodyTooLarge } from './proxy/body-limit.js'
import { limitConnections } from './proxy/connection-limit.js'
import { hasValidHost } from './proxy/host-header.js'
import { isPreflight } from './proxy/response-policy.js'
import { type Budgets, LOCAL_BUDGETS } from './ratelimit/budgets.js'
import type { PinSet } from './tls/fingerprint.js'
import type { ServerTlsMaterial } from './tls/server-tls.js'
import { forwardToUpstream, upstreamStage } from './upstream/stage.js'
import { longestResponseMs } from './upstream/static-upstreams.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** The config-derived checks, clusters and pools this request runs on to its end, even across a reload. */
    pipeline: Pipeline
    /** Counts a chunked request body as it streams to Flink (null when the size was declared or there is none). */
    bodyMeter: BodyLimit | null
    /** The Flink route template this request addresses (see routeLabel): for logs and metric labels. */
    routeLabel: string
    /** The path as screened and authorised; what is forwarded is its `forwardTarget`. */
    canonical: CanonicalPath | null
    /** Who is calling, once authentication has passed. */
    identity: Identity | null
    /** The authorization decision, allowed or not (audit, redaction, metrics). */
    authz: AuthzRecord | null
    /** What Flink's answer said about a control, submit or cluster action (audit). */
    flinkOutcome: FlinkOutcome | null
    /** A front proxy's authorization check (forward-auth): judged as the request it describes, never forwarded. */
    forwardAuthCheck: boolean
    /** A check's host as the front proxy named it (src/forward-auth/): used instead of Fastify's host. */
    forwardAuthHost: string | null
  }
}

export interface ProxyAppDependencies {
  /** The current pipeline (config reload replaces it) and the ones still finishing their requests. */
  readonly pipelines: PipelineSwitch
  readonly logger: Logger
  readonly metrics: ProxyMetrics | null
  /** The TLS listener's material; null serves plain HTTP. */
  readonly tls: ServerTlsMaterial | null
  /** Client certificate pins, checked as each handshake completes. */
  readonly pins: PinSet | null
  /** Told of every failed handshake, pin mismatches included (metrics). */
  readonly onHandshakeError?: (reason: string) => void
  /** Told of every completed handshake and whether it resumed a session (metrics). */
  readonly onHandshake?: (resumed: boolean) => void
  /** Where the failed-request budget lives (absent: this process's memory). */
  readonly budgets?: Budgets
}

const ALL_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const
/** Headers past this many bytes are refused by Node with 431 before any hook runs. */
const MAX_HEADER_BYTES = 32 * 1024
/** Slowloris guard: the request line and headers must arrive within this time. */
const HEADERS_TIMEOUT_MS = 30_000
/** Idle keep-alive connections from clients are closed after this long. */
const CLIENT_KEEP_ALIVE_MS = 65_000

/**
 * The public proxy, its pipeline written out in order (DESIGN.md §2). Everything before the handler runs in
 * `onRequest`, before a byte of the body is read, so a refused request never streams its body anywhere.
 * `config` gives what the listener is built with (pipeline/restart-only.ts: those keys take a restart); each request
 * reads everything else from the pipeline it started on.
 */
export async function buildProxyApp(
  config: Readonly<Config>,
  deps: ProxyAppDependencies,
): Promise<FastifyInstance> {
  const { pipelines, metrics } = deps
  const trustedProxies = config.authz.trustedProxies
  const securityHeadersOf = (request: FastifyRequest, pipeline: Pipeline) =>
    request.protocol === 'https' ? pipeline.headersOverTls : pipeline.headersOverHttp
  const tls = deps.tls
  // The budget of refused requests per client address outlives config reloads (a restart-only key).
  const failureRate = (deps.budgets ?? LOCAL_BUDGETS).failureRate(config.limits.failedRequests)
  // Fastify hands `http` options to http.createServer only: a TLS listener needs them in `https` as well,
  // or Node's defaults (16 KiB of headers, 60 s to send them) apply there.
  const serverOptions = {
    maxHeaderSize: MAX_HEADER_BYTES,
    headersTimeout: HEADERS_TIMEOUT_MS,
    // No whole-request deadline: a 1 GiB jar upload over a slow link is legitimate. Stalls are bounded by
    // the idle timeout below, and Flink's silence by upstream.timeouts.responseMs.
    requestTimeout: 0,
  }
  const app = Fastify({
    ...(tls === null
      ? {}
      : {
          https: {
            ...serverOptions,
            ...tls.context,
            requestCert: tls.requestCert,
            rejectUnauthorized: tls.rejectUnauthorized,
            // A connection that never sends its ClientHello is closed here (Node's default is 120 s).
            handshakeTimeout: config.limits.handshakeTimeoutMs,
          },
        }),
    loggerInstance: deps.logger,
    // The access line is ours (onResponse), so Fastify's per-request lines are off.
    logController: new LogController({ disableRequestLogging: true }),
    genReqId: requestIdOf,
    routerOptions: { maxParamLength: 8192 },
    http: serverOptions,
    connectionTimeout: longestResponseMs(config) + 30_000,
    keepAliveTimeout: CLIENT_KEEP_ALIVE_MS,
    return503OnClosing: false,
    clientErrorHandler: replyToClientError,
    // X-Forwarded-For is believed only from the configured front proxies; request.ip is then the client's.
    trustProxy: trustedProxies.length > 0 ? [...trustedProxies] : false,
    // The router refuses a path it cannot percent-decode before any hook runs: answer with the code
    // canonicalize() gives the same path, so the refusal reads the same whichever layer saw it first.
    frameworkErrors: (error, request, reply) => {
      const canonical = canonicalize(request.url)
      request.routeLabel = ROUTE_LABEL_INVALID
      reply.headers(securityHeadersOf(request, pipelines.current))
      replyWithError(
        canonical.ok
          ? new FlinkGuardError('FG_ERR_REQUEST_MALFORMED', { cause: error })
          : new FlinkGuardError(canonical.code),
        request,
        reply,
      )
    },
  })

  // Node answers `Expect: 100-continue` on its own unless someone listens; we listen so the 100 goes out
  // only after authentication and authorization have passed (see forward()).
  app.server.on('checkContinue', (req, res) => app.server.emit('request', req, res))
  limitConnections(app.server, config.limits, { tls: tls !== null })
  // Node would drop headers past 2000 silently; every one is kept so the count below can refuse them.
  app.server.maxHeadersCount = 0
  if (tls !== null) watchHandshakes(app, deps.pins, deps.onHandshakeError, deps.onHandshake)
  app.server.on('checkExpectation', replyToUnsupportedExpectation)

  // Replaced in the first hook; a request refused before it (frameworkErrors) reads pipelines.current.
  app.decorateRequest('pipeline', null as unknown as Pipeline)
  app.decorateRequest('bodyMeter', null)
  app.decorateRequest('routeLabel', ROUTE_LABEL_UNKNOWN)
  app.decorateRequest('canonical', null)
  app.decorateRequest('identity', null)
  app.decorateRequest('authz', null)
  app.decorateRequest('flinkOutcome', null)
  app.decorateRequest('jobName', null)
  app.decorateRequest('submitterRecorded', null)
  app.decorateRequest('forwardAuthCheck', false)
  app.decorateRequest('forwardAuthHost', null)
  app.setErrorHandler((error, request, reply) => replyWithError(error, request, reply))
  if (failureRate !== null) {
    metrics?.observeRateLimitAddresses(() => failureRate.size)
    app.addHook('onClose', () => failureRate.close())
  }
  app.setNotFoundHandler((request, reply) =>
    replyWithError(
      new FlinkGuardError('FG_ERR_REQUEST_MALFORMED', {
        message: 'The request target must be an absolute path',
      }),
      request,
      reply,
    ),
  )
  // Bodies are not parsed: they stream to Flink untouched.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', (_request, _payload, done) => done(null))

  // 1. Screen: pipeline, request id, security headers, forward-auth check, network allowlist, header count and Host, size, CORS
  // preflight, canonical path.
  app.addHook('onRequest', async (request, reply) => {
    markAccessStart(request)
    // The response's close fires once, finished or cut: then the pipeline may retire.
    const { pipeline, release } = pipelines.acquire()
    reply.raw.once('close', () => {
      release()
      // A response destroyed before it finished never reaches onResponse: recorded here, with its outcome.
      if (!reply.raw.writableFinished) record(request, reply)
    })
    request.pipeline = pipeline
    const { allowedNetworks, cors } = pipeline
    const { maxBodyBytes, maxHeaderCount } = pipeline.config.limits
    reply.header('x-request-id', request.id)
    reply.headers(securityHeadersOf(request, pipeline))
    // A front proxy's check (src/forward-auth/) goes through every stage as the request it describes, then is
    // answered instead of forwarded.
    const described = pipeline.forwardAuth?.describe(request.raw) ?? null
    if (described !== null) {
      request.raw.method = described.method
      request.raw.url = described.url
      request.forwardAuthCheck = true
      request.forwardAuthHost = described.host
    }
    if (allowedNetworks !== null && !allowedNetworks.contains(request.ip)) {
      throw new FlinkGuardError('FG_ERR_AUTHZ_NETWORK_DENIED')
    }
    const { rawHeaders } = request.raw
    if (rawHeaders.length / 2 > maxHeaderCount) {
      throw new FlinkGuardError('FG_ERR_REQUEST_HEADERS_TOO_LARGE', {
        message: `The request has more than ${maxHeaderCount} header fields`,
      })
    }
    if (!hasValidHost(rawHeaders)) {
      throw new FlinkGuardError('FG_ERR_REQUEST_MALFORMED', {
        message: 'The request must have exactly one valid Host header',
      })
    }
    const declared = request.headers['content-length']
    if (declared !== undefined && Number(declared) > maxBodyBytes) throw bodyTooLarge(maxBodyBytes)
    const origin = request.headers.origin
    if (origin !== undefined) reply.headers(cors.responseHeaders(origin))
    // A preflight carries no credentials (Fetch §4.8): it is answered here, before authentication. Not for a
    // check that describes one: the front proxy takes any 2xx as "allowed" and would forward the OPTIONS to
    // Flink, so such a check is judged like the request it describes (without credentials: 401).
    if (!request.forwardAuthCheck && isPreflight(request.method, request.headers)) {
      return reply.code(204).headers(cors.preflightHeaders(origin)).send()
    }
    // Origin-form only (RFC 9112 §3.2.1), decoded once, every ambiguity refused (authz/canonical-path.ts).
    const canonical = canonicalize(request.url)
    if (!canonical.ok) {
      request.routeLabel = ROUTE_LABEL_INVALID
      throw new FlinkGuardError(canonical.code)
    }
    request.canonical = canonical
    request.routeLabel = routeLabelOf(request.method, canonical)
  })
  // 6. Record (registered before the scopes below, so it covers their routes too)
  const recorded = new WeakSet<FastifyRequest>()
  const record = (request: FastifyRequest, reply: FastifyReply) => {
    if (recorded.has(request)) return
    recorded.add(request)
    logAccess(request, reply)
    // The audit line and, for an action Flink finishes later, its follow-up (src/observability/audit-trail.ts).
    if (request.authz !== null) request.pipeline.audit.record(request, reply)
    metrics?.recordRequest(request.routeLabel, request.method, reply.statusCode, reply.elapsedTime / 1000)
  }
  app.addHook('onResponse', async (request, reply) => record(request, reply))
  // The OIDC callback and logout: screened, but outside the authentication scope (they are how one logs in).
  // Whether there is a login, and its paths, take a restart; each request uses its own pipeline's login.
  const initialLogin = pipelines.current.login
  if (initialLogin !== null) app.register(loginRoutes(initialLogin, (request) => request.pipeline.login!))
  // Who-am-I (src/auth/who-am-i.ts): authenticated and resolved to a cluster like a Flink route, answered by us.
  app.register(whoAmIRoutes(authenticate, (request) => request.pipeline.upstreams, metrics))
  app.register(async (proxy) => {
    // 2. Authenticate, 3. refuse cross-site state changes of credentials a browser sends by itself (all
    // but bearer tokens), 4. authorize: all before a byte of the body is read.
    proxy.addHook('onRequest', async (request, reply) => authenticate(request, reply))
    // Resolve the upstream (src/upstream/stage.ts): cluster by host or prefix, its pool and policy; from here
    // on `canonical` is the path as that cluster's Flink sees it.
    upstreamStage(proxy, (request) => request.pipeline.upstreams, metrics)
    proxy.addHook('onRequest', async (request) => {
      const { identity, canonical, pipeline } = request
      // The proxy's own origin: publicUrl with OIDC, else the one the request was addressed to.
      const ownOrigin = () =>
        pipeline.login?.publicOrigin ?? originOf(request.protocol, request.forwardAuthHost ?? request.host)
      if (
        refusesCrossSite(
          identity!.method,
          request.method,
          canonical!.matchPath,
          request.headers,
          ownOrigin,
          pipeline.credentialedOrigins,
        )
      ) {
        throw new FlinkGuardError('FG_ERR_AUTH_CROSS_SITE')
      }
    })
    proxy.addHook('onRequest', async (request) => {
      const { record, error } = authorizeRequest(
        request.identity!,
        request.method,
        request.canonical!,
        request.upstream!.policy,
      )
      request.authz = record
      if (error !== null) {
        metrics?.recordDenial(request.routeLabel, record.preset)
        throw error
      }
    })
    // 4b. Job scope (src/job-scope/): on a shared cluster, the job the action addresses must be the caller's,
    // and job lists and counts are marked to be cut down to theirs on the way back.
    jobScopeStage(proxy, metrics)
    // 4c. A submission under jobOwners: the jobs Flink knows before it, so the job its answer names is
    // recorded as the caller's only when it is new (src/job-owners/record-submitter.ts).
    submissionStage(proxy)
    // 5. Forward (a forward-auth check: answer the decision; the front proxy forwards)
    proxy.route({
      method: [...ALL_METHODS],
      url: '/*',
      handler: (request, reply) =>
        request.forwardAuthCheck
          ? answerCheck(request, reply, request.pipeline.forwardAuth!)
          : forwardToUpstream(request, reply),
    })
  })

  async function authenticate(
    request: FastifyRequest,
    reply: FastifyReply,
  ): Promise<FastifyReply | undefined> {
    const { chain, login } = request.pipeline
    const result = await chain.authenticate({
      headers: request.headers,
      socket: request.raw.socket,
      remoteAddress: request.ip,
    })
    if (result.kind === 'accepted') {
      if (result.setCookies !== undefined) reply.header('set-cookie', result.setCookies)
      request.identity = result.identity
      return
    }
    metrics?.recordAuthFailure(result.refusal?.method ?? 'none', result.refusal?.reason ?? 'missing')
    // The reason is a fixed word (expired, bad_audience, bad_password, …); the response says only "invalid".
    if (result.refusal !== null) {
      const { method, reason, user } = result.refusal
      request.log.warn({ method, reason, user, remoteAddress: request.ip }, 'authentication refused')
    }
    if (result.refusal?.setCookies !== undefined) reply.header('set-cookie', result.refusal.setCookies)
    // Every refusal spends the address's budget, past which the answer is a 429 (src/ratelimit/); one for an
    // identity provider that is down (503) says nothing of the client's credential and costs nothing.
    const limitedForSec =
      result.error.statusCode < 500 ? await failureRate?.charge(addressKey(request.ip), Date.now()) : null
    if (limitedForSec !== undefined && limitedForSec !== null) {
      metrics?.recordRateLimited()
      reply.header('retry-after', String(limitedForSec))
      throw new FlinkGuardError('FG_ERR_REQUEST_RATE_LIMITED')
    }
    if (login?.redirectsToLogin(request.method, request.headers, result.refusal)) {
      return redirect(reply, await login.start(request.url))
    }
    if (result.challenges.length > 0) reply.header('www-authenticate', result.challenges)
    if (result.retryAfterSec !== null) reply.header('retry-after', String(result.retryAfterSec))
    throw result.error
  }

  return app
}

/**
 * Client certificate pins are checked the moment a handshake completes. The listener is *prepended*: the HTTP
 * server's own `secureConnection` listener starts parsing requests, and with a plain `on` a request the client
 * sent along with its Finished message would still be read and forwarded on the dying socket.
 */
function watchHandshakes(
  app: FastifyInstance,
  pins: PinSet | null,
  onHandshakeError: ((reason: string) => void) | undefined,
  onHandshake: ((resumed: boolean) => void) | undefined,
): void {
  app.server.on('tlsClientError', (err: NodeJS.ErrnoException) =>
    onHandshakeError?.(err.code ?? 'handshake_failed'),
  )
  if (onHandshake !== undefined)
    app.server.on('secureConnection', (socket: TLSSocket) => onHandshake(socket.isSessionReused()))
  if (pins === null) return
  app.server.prependListener('secureConnection', (socket: TLSSocket) => {
    const certificate = socket.getPeerCertificate()
    // No certificate (clientAuth: request): nothing to pin; the request needs another credential.
    if (certificate === null || Object.keys(certificate).length === 0) return
    if (!pins.matches(certificate)) {
      app.log.warn(
        {
          subject: certificate.subject,
          fingerprint256: certificate.fingerprint256,
          remoteAddress: socket.remoteAddress,
        },
        'client certificate not pinned: connection closed',
      )
      onHandshakeError?.('pin_mismatch')
      socket.destroy()
    }
  })
}
