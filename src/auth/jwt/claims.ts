import type { JWTPayload } from 'jose'

/**
 * The value at a claim path. A claim named with dots (`https://example.com/groups`, Auth0's namespaced
 * claims) is looked up whole first; otherwise the dots walk nested objects (`realm_access.roles`, Keycloak).
 */
export function claimAt(payload: JWTPayload, path: string): unknown {
  if (Object.hasOwn(payload, path)) return payload[path]
  let node: unknown = payload
  for (const part of path.split('.')) {
    if (node === null || typeof node !== 'object' || Array.isArray(node) || !Object.hasOwn(node, part)) {
      return undefined
    }
    node = (node as Record<string, unknown>)[part]
  }
  return node
}

/** Roles from each path: a list of strings (`groups`), or a space-separated string (OAuth 2.0 `scope`). */
export function rolesFrom(payload: JWTPayload, paths: string | readonly string[]): string[] {
  const roles = new Set<string>()
  for (const path of typeof paths === 'string' ? [paths] : paths) {
    const value = claimAt(payload, path)
    const items = typeof value === 'string' ? value.split(' ') : Array.isArray(value) ? value : []
    for (const item of items) if (typeof item === 'string' && item !== '') roles.add(item)
  }
  return [...roles]
}

/** The subject: a non-empty string claim, never a number or object coerced into one. */
export function subjectFrom(payload: JWTPayload, path: string): string | null {
  const value = claimAt(payload, path)
  return typeof value === 'string' && value !== '' ? value : null
}
