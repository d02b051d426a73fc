import { canonicalize } from '../../authz/canonical-path.js'

/** Longer return paths are not a page anyone bookmarked; they go to the start page instead. */
export const MAX_RETURN_PATH_LENGTH = 2_048
const PRINTABLE_ASCII = /^[\x21-\x7e]+$/

/**
 * Where to send the browser after login: `raw` itself when it is a path on this origin that the proxy would
 * serve as is, otherwise `/`. Never a URL, never `//host` or `/\host` (which browsers read as another
 * origin), never a control character, space or non-ASCII byte (tabs and newlines are dropped by URL parsers,
 * WHATWG URL §4.4, turning `/\t/evil` into `//evil`). The path must pass the same canonical-path screen as
 * every request (no `//`, no `\`, no encoded separators or dot segments, no double encoding), so a return path
 * means one thing to the browser, to us and to Flink.
 */
export function safeReturnPath(raw: unknown): string {
  if (typeof raw !== 'string' || raw.length > MAX_RETURN_PATH_LENGTH || !PRINTABLE_ASCII.test(raw)) return '/'
  if (raw.charCodeAt(0) !== 0x2f || raw.charCodeAt(1) === 0x2f || raw.charCodeAt(1) === 0x5c) return '/'
  return canonicalize(raw).ok ? raw : '/'
}
