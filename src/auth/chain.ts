import { FlinkGuardError } from '../errors.js'
import type { AuthAcceptance, Authenticator, AuthRefusal, Credentials } from './authenticator.js'
import type { Identity } from './identity.js'

export type ChainResult =
  | AuthAcceptance
  /** 401/429 to send, with the `WWW-Authenticate` challenges and `Retry-After` that go with it. */
  | {
      readonly kind: 'refused'
      readonly error: FlinkGuardError
      readonly refusal: AuthRefusal | null
      readonly challenges: readonly string[]
      readonly retryAfterSec: number | null
    }

/**
 * The authentication chain (DESIGN.md §2 step 3): the authenticators in the configured order, the first one
 * that finds its credential decides. A credential that is present but bad ends the chain with a refusal,
 * never a fall-through to the next scheme or to anonymous. An `Authorization` header no authenticator reads
 * is a 401 too. With no credential at all: the anonymous identity when configured, else 401 naming every scheme.
 */
export class AuthChain {
  constructor(
    readonly authenticators: readonly Authenticator[],
    private readonly anonymous: Identity | null,
  ) {}

  async authenticate(credentials: Credentials): Promise<ChainResult> {
    for (const authenticator of this.authenticators) {
      const outcome = await authenticator.authenticate(credentials)
      if (outcome.kind === 'absent') continue
      if (outcome.kind === 'accepted') return outcome
      return {
        kind: 'refused',
        error: new FlinkGuardError(outcome.code),
        refusal: outcome,
        challenges: this.challenges(outcome),
        retryAfterSec: outcome.retryAfterSec ?? null,
      }
    }
    // A credential of a scheme no one here reads is still a credential: not served as anonymous.
    const unread = credentials.headers.authorization !== undefined
    if (this.anonymous !== null && !unread) return { kind: 'accepted', identity: this.anonymous }
    return {
      kind: 'refused',
      error: new FlinkGuardError(unread ? 'FG_ERR_AUTH_UNSUPPORTED_SCHEME' : 'FG_ERR_AUTH_REQUIRED'),
      refusal: null,
      challenges: this.challenges(),
      retryAfterSec: null,
    }
  }

  /** RFC 9110 §11.6.1: a 401 names every scheme the client could use; the refusing one says why. */
  private challenges(refusal?: AuthRefusal): string[] {
    const challenges: string[] = []
    for (const authenticator of this.authenticators) {
      const challenge = authenticator.challenge(
        refusal?.method === authenticator.method ? refusal : undefined,
      )
      if (challenge !== null) challenges.push(challenge)
    }
    return challenges
  }

  async close(): Promise<void> {
    await Promise.all(this.authenticators.map((authenticator) => authenticator.close()))
  }
}
