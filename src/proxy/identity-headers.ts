import type { Identity } from '../auth/identity.js'
import { FlinkGuardError } from '../errors.js'

/** C0 controls and DEL: a CR or LF in a header value would end it (RFC 9110 §5.5), the rest are refused too. */
export function hasControl(value: string): boolean {
  for (let i = 0; i < value.length; i += 1) {
    const code = value.charCodeAt(i)
    if (code < 0x20 || code === 0x7f) return true
  }
  return false
}
/**
 * Sent as they are: visible ASCII but `%` (the escape) and `,` (the separator of roles). Everything else,
 * a space or any non-ASCII character (`Łukasz`, `王小明`), is percent-encoded as UTF-8 (RFC 3986 §2.1), so
 * the value is always valid header text and a role named `x,grp-admin` stays one role.
 */
const ENCODED = /[^\u0021-\u007e]|[%,]/gu

function encode(value: string): string {
  if (hasControl(value)) throw new FlinkGuardError('FG_ERR_AUTH_IDENTITY_UNSAFE')
  try {
    return value.replace(ENCODED, (char) => encodeURIComponent(char))
  } catch {
    // A lone UTF-16 surrogate has no UTF-8 form.
    throw new FlinkGuardError('FG_ERR_AUTH_IDENTITY_UNSAFE')
  }
}

/** The user and groups header values for `identity`: each name percent-encoded, roles joined with `,`. */
export function identityHeaderValues(identity: Identity): { user: string; groups: string } {
  return { user: encode(identity.subject), groups: identity.roles.map(encode).join(',') }
}
