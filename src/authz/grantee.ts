import { Type } from '@sinclair/typebox'
import type { Identity } from '../auth/identity.js'

/**
 * Whom a grant is for (authz.arguments, authz.jobScope): callers with one of the roles, or one of the
 * subjects; a grant naming neither is every caller's.
 */
export const granteeProperties = {
  roles: Type.Optional(
    Type.Array(Type.String({ minLength: 1 }), {
      description: "The grant is the caller's when it has one of these roles (absent: every caller).",
    }),
  ),
  subjects: Type.Optional(
    Type.Array(Type.String({ minLength: 1 }), { description: '…or is one of these subjects.' }),
  ),
}

export interface Grantee {
  readonly roles?: readonly string[] | undefined
  readonly subjects?: readonly string[] | undefined
}

export function holdsGrant(identity: Identity, grant: Grantee): boolean {
  return (
    (grant.roles === undefined && grant.subjects === undefined) ||
    grant.roles?.some((role) => identity.roles.includes(role)) === true ||
    grant.subjects?.includes(identity.subject) === true
  )
}
