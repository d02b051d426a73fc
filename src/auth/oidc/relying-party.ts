import * as client from 'openid-client'
import { Agent, fetch as undiciFetch } from 'undici'
import type { CheckResult } from '../../observability/health.js'
import { claimAt, rolesFrom, subjectFrom } from '../jwt/claims.js'
import type { AuthLogger } from '../logger.js'
import { readCaFile } from '../read-ca-file.js'
import type { OidcConfig } from './config.js'
import type { LoginTransaction } from './login-transaction.js'
import { nowSec, type Session } from './session-cookie.js'

/**
 * The lifetime assumed for a token response that states none (no `expires_in`, no ID token `exp`): short, so
 * a session is still checked with the provider regularly, but long enough that requests do not refresh.
 */
export const ASSUMED_TOKEN_LIFETIME_SEC = 300

/** After a failed discovery, the next request that needs the provider tries again, at most this often. */
const DISCOVERY_RETRY_MS = 5_000

/** Why a token request failed: the provider said no (`refused`), or could not be asked (`unavailable`). */
export class ProviderError extends Error {
  constructor(
    readonly kind: 'refused' | 'unavailable',
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(reason, options)
    this.name = 'ProviderError'
  }
}

/**
 * The OpenID Connect relying party (openid-client): discovery, the authorization request with PKCE S256,
 * the code exchange with state, nonce and ID token checks (signature included), refresh, revocation and the end-session URL.
 * Discovery happens at start and, when the provider is down then, on the first login that needs it.
 */
export class RelyingParty {
  readonly #config: OidcConfig
  readonly #logger: AuthLogger
  readonly #agent: Agent | null
  readonly #redirectUri: string
  #discovered: client.Configuration | null = null
  #discovering: Promise<client.Configuration> | null = null
  #lastFailureAt = 0
  #lastFailure = 'discovery not attempted yet'

  constructor(config: OidcConfig, logger: AuthLogger) {
    this.#config = config
    this.#logger = logger
    this.#redirectUri = new URL(config.redirectPath, config.publicUrl).href
    this.#agent =
      config.caFile === undefined
        ? null
        : new Agent({ connect: { ca: readCaFile(config.caFile, 'auth.oidc') } })
  }

  /** Tries discovery once; a provider that is down is logged and retried later, never a start-up failure. */
  async start(): Promise<void> {
    await this.configuration().catch(() => undefined)
  }

  ready(): CheckResult {
    return this.#discovered !== null ? { ok: true } : { ok: false, reason: this.#lastFailure }
  }

  async close(): Promise<void> {
    await this.#agent?.close()
  }

  /** Where to send the browser: code flow, PKCE S256, state and nonce. */
  async authorizationUrl(transaction: LoginTransaction): Promise<URL> {
    const config = await this.configuration()
    return client.buildAuthorizationUrl(config, {
      redirect_uri: this.#redirectUri,
      scope: this.#config.scopes.join(' '),
      state: transaction.state,
      nonce: transaction.nonce,
      code_challenge: await client.calculatePKCECodeChallenge(transaction.codeVerifier),
      code_challenge_method: 'S256',
      // A refresh token needs the provider's consent for offline_access (OIDC Core §11).
      ...(this.#config.scopes.includes('offline_access') ? { prompt: 'consent' } : {}),
    })
  }

  /** The callback: checks state, exchanges the code with the PKCE verifier, validates the ID token and nonce. */
  async exchange(callbackQuery: string, transaction: LoginTransaction): Promise<Session> {
    const config = await this.configuration()
    const currentUrl = new URL(`${this.#redirectUri}?${callbackQuery}`)
    const tokens = await call(() =>
      client.authorizationCodeGrant(config, currentUrl, {
        pkceCodeVerifier: transaction.codeVerifier,
        expectedState: transaction.state,
        expectedNonce: transaction.nonce,
        idTokenExpected: true,
      }),
    )
    const claims = tokens.claims()
    if (claims === undefined) throw new ProviderError('refused', 'no ID token')
    const subject = subjectFrom(claims, this.#config.subjectClaim)
    if (subject === null) throw new ProviderError('refused', 'missing_subject')
    return {
      subject,
      roles: await this.#rolesOf(config, tokens, claims, subject),
      expiresAt: expiryOf(tokens, claims.exp),
      issuedAt: nowSec(),
      refreshToken: tokens.refresh_token ?? null,
    }
  }

  /** A new session from the refresh token; a new ID token must name the same subject. */
  async refresh(session: Session): Promise<Session> {
    const config = await this.configuration()
    const tokens = await call(() => client.refreshTokenGrant(config, session.refreshToken!))
    const claims = tokens.claims()
    if (claims !== undefined && subjectFrom(claims, this.#config.subjectClaim) !== session.subject) {
      throw new ProviderError('refused', 'subject_changed')
    }
    return {
      subject: session.subject,
      roles:
        claims === undefined ? session.roles : await this.#rolesOf(config, tokens, claims, session.subject),
      expiresAt: expiryOf(tokens, claims?.exp),
      issuedAt: nowSec(),
      // Providers that rotate send a new one; the others keep the old one valid.
      refreshToken: tokens.refresh_token ?? session.refreshToken,
    }
  }

  /**
   * The ID token's roles; when it holds none of the roles claims (absent, not an empty list), the userinfo
   * endpoint's, which openid-client refuses unless its `sub` is `subject` (OIDC Core §5.3.2).
   */
  async #rolesOf(
    config: client.Configuration,
    tokens: client.TokenEndpointResponse,
    claims: client.IDToken,
    subject: string,
  ): Promise<string[]> {
    const paths = this.#config.rolesClaim
    const present = (typeof paths === 'string' ? [paths] : paths).some(
      (path) => claimAt(claims, path) !== undefined,
    )
    if (present || this.#config.rolesFromUserinfo === 'never') return rolesFrom(claims, paths)
    if (config.serverMetadata().userinfo_endpoint === undefined) return []
    const userinfo = await call(() => client.fetchUserInfo(config, tokens.access_token, subject))
    return rolesFrom(userinfo, paths)
  }

  /** Best effort at logout (RFC 7009): a failure is logged, the local session ends anyway. */
  async revoke(refreshToken: string): Promise<void> {
    try {
      const config = await this.configuration()
      if (config.serverMetadata().revocation_endpoint === undefined) return
      await client.tokenRevocation(config, refreshToken, { token_type_hint: 'refresh_token' })
    } catch (err) {
      this.#logger.warn({ reason: (err as Error).message }, 'refresh token revocation failed')
    }
  }

  /** RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0 §2), or null when the provider has none. */
  async endSessionUrl(postLogoutRedirectUri: string): Promise<URL | null> {
    const config = await this.configuration().catch(() => null)
    if (config?.serverMetadata().end_session_endpoint === undefined) return null
    return client.buildEndSessionUrl(config, {
      client_id: this.#config.clientId,
      post_logout_redirect_uri: postLogoutRedirectUri,
    })
  }

  /** The discovered configuration; one discovery at a time, retried at most every DISCOVERY_RETRY_MS. */
  configuration(): Promise<client.Configuration> {
    if (this.#discovered !== null) return Promise.resolve(this.#discovered)
    if (this.#discovering !== null) return this.#discovering
    if (Date.now() - this.#lastFailureAt < DISCOVERY_RETRY_MS) {
      return Promise.reject(new ProviderError('unavailable', this.#lastFailure))
    }
    this.#discovering = this.#discover().finally(() => {
      this.#discovering = null
    })
    return this.#discovering
  }

  async #discover(): Promise<client.Configuration> {
    const issuer = new URL(this.#config.issuer)
    const agent = this.#agent
    const options: client.DiscoveryRequestOptions = {
      timeout: Math.ceil(this.#config.timeoutMs / 1000),
      // undici's own fetch, so the configured CA applies; redirects are never followed (openid-client asks manual).
      [client.customFetch]: (url, init) =>
        undiciFetch(url, { ...init, ...(agent === null ? {} : { dispatcher: agent }) } as never) as never,
      ...(issuer.protocol === 'http:' ? { execute: [client.allowInsecureRequests] } : {}),
    }
    try {
      const config = await client.discovery(
        issuer,
        this.#config.clientId,
        { client_secret: this.#config.clientSecret },
        client.ClientSecretBasic(this.#config.clientSecret),
        options,
      )
      // openid-client checks an ID token's claims but not its signature unless asked (the token comes over
      // TLS from the token endpoint, which OIDC Core §3.1.3.7 allows): ask, so a token is only believed when
      // signed with a key of the issuer's jwks_uri (fetched on first use, cached, fetched again for a new kid).
      client.enableNonRepudiationChecks(config)
      this.#discovered = config
      this.#logger.info({ issuer: this.#config.issuer }, 'OpenID provider discovered')
      return config
    } catch (err) {
      this.#lastFailureAt = Date.now()
      this.#lastFailure = `discovery of ${this.#config.issuer} failed: ${(err as Error).message}`
      this.#logger.warn(
        { issuer: this.#config.issuer, reason: (err as Error).message },
        'OpenID discovery failed',
      )
      throw new ProviderError('unavailable', this.#lastFailure, { cause: err })
    }
  }
}

/** The access token's lifetime when the provider says it, else the ID token's `exp`, else ASSUMED_TOKEN_LIFETIME_SEC. */
function expiryOf(
  tokens: client.TokenEndpointResponse & client.TokenEndpointResponseHelpers,
  idTokenExp?: number,
) {
  const expiresIn = tokens.expiresIn()
  if (expiresIn !== undefined) return nowSec() + expiresIn
  return idTokenExp ?? nowSec() + ASSUMED_TOKEN_LIFETIME_SEC
}

/** openid-client's errors sorted into "the provider refused" (a 401) and "the provider is unreachable". */
async function call<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation()
  } catch (err) {
    const { code, error } = err as { code?: string; error?: string }
    // A provider answering 5xx (its status on the error, or on the Response it carries) is down, not refusing.
    const status =
      (err as { status?: number }).status ?? ((err as Error).cause as { status?: number })?.status
    if (typeof status === 'number' && status >= 500) {
      throw new ProviderError('unavailable', `the provider answered ${status}`, { cause: err })
    }
    if (code === 'OAUTH_RESPONSE_BODY_ERROR' || code === 'OAUTH_AUTHORIZATION_RESPONSE_ERROR') {
      throw new ProviderError('refused', error ?? code, { cause: err })
    }
    // Anything else with an OAUTH_ code is a check that failed on our side: state, nonce, ID token claims.
    if (typeof code === 'string' && code.startsWith('OAUTH_')) {
      // openid-client's message is generic ("invalid response encountered"); its cause names the check.
      const detail = ((err as Error).cause as Error | undefined)?.message ?? (err as Error).message
      const reason = `${code.slice('OAUTH_'.length).toLowerCase()}: ${detail}`
      throw new ProviderError('refused', reason, { cause: err })
    }
    throw new ProviderError('unavailable', (err as Error).message, { cause: err })
  }
}
