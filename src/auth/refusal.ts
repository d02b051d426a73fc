import type { ErrorCode } from '../errors.js'
import type { AuthRefusal } from './authenticator.js'
import type { AuthMethod, Identity } from './identity.js'

export function refusal(
  method: AuthMethod,
  code: ErrorCode,
  reason: string,
  retryAfterSec?: number,
  user?: string,
): AuthRefusal {
  return {
    kind: 'refused',
    method,
    code,
    reason,
    ...(retryAfterSec === undefined ? {} : { retryAfterSec }),
    ...(user === undefined ? {} : { user }),
  }
}

/** Identities are shared by every request a cache hit serves, so nothing may change one after the fact. */
export function frozenIdentity(identity: Identity): Identity {
  const freeze = (value: unknown): void => {
    if (value === null || typeof value !== 'object' || Object.isFrozen(value)) return
    for (const child of Object.values(value)) freeze(child)
    Object.freeze(value)
  }
  freeze(identity)
  return identity
}
