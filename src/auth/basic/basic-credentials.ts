/** Standard base64 (RFC 7617 §2 uses RFC 4648 §4), padding optional. */
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/
const utf8 = new TextDecoder('utf-8', { fatal: true })

/**
 * `user:password` from a Basic credential (RFC 7617), decoded as UTF-8 (the charset the challenge
 * announces). Null for anything malformed: not base64, a non-canonical encoding, invalid UTF-8, no colon,
 * an empty user name or one with control characters.
 */
export function decodeBasicCredentials(value: string): { user: string; password: string } | null {
  if (!BASE64.test(value)) return null
  const bytes = Buffer.from(value, 'base64')
  // Buffer.from ignores stray bits and trailing garbage; re-encoding catches every non-canonical form.
  const canonical = bytes.toString('base64')
  if (value !== (value.includes('=') ? canonical : canonical.replace(/=+$/, ''))) return null
  let text: string
  try {
    text = utf8.decode(bytes)
  } catch {
    return null
  }
  const colon = text.indexOf(':')
  if (colon <= 0) return null
  const user = text.slice(0, colon)
  if ([...user].some((char) => char.charCodeAt(0) < 0x20 || char.charCodeAt(0) === 0x7f)) return null
  return { user, password: text.slice(colon + 1) }
}
