import type { IncomingHttpHeaders } from 'node:http'

export type SchemeCredential =
  /** No Authorization header, or one of another scheme: the next authenticator is asked. */
  | { readonly kind: 'absent' }
  | { readonly kind: 'too_large' }
  | { readonly kind: 'malformed' }
  | { readonly kind: 'present'; readonly value: string }

/**
 * The credential of one scheme in `Authorization` (RFC 9110 §11.6.2): the scheme name is case-insensitive,
 * then one or more spaces, then the credential. The length cap applies before any parsing, so an oversized
 * header costs nothing but this comparison.
 */
export function schemeCredential(
  headers: IncomingHttpHeaders,
  scheme: string,
  maxLength: number,
): SchemeCredential {
  const header = headers.authorization
  if (header === undefined || header === '') return { kind: 'absent' }
  const space = header.indexOf(' ')
  const name = space === -1 ? header : header.slice(0, space)
  if (name.toLowerCase() !== scheme.toLowerCase()) return { kind: 'absent' }
  if (header.length > maxLength + scheme.length + 1) return { kind: 'too_large' }
  const value =
    space === -1
      ? ''
      : header
          .slice(space + 1)
          .replace(/^ +/, '')
          .replace(/ +$/, '')
  if (value === '') return { kind: 'malformed' }
  return { kind: 'present', value }
}
