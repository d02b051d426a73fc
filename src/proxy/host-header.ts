/**
 * RFC 9112 §3.2: a server must answer 400 to a request with no Host, with more than one, or with an invalid
 * one. A proxy that passed them on would let a front filter and Flink disagree on which host was asked.
 */
/** uri-host [ ":" port ] (RFC 3986 §3.2.2): an IP literal in brackets, or a reg-name / IPv4 address. */
const HOST = /^(?:\[[0-9A-Fa-f:.]+\]|(?:[A-Za-z0-9\-._~!$&'()*+,;=]|%[0-9A-Fa-f]{2})+)(?::\d{0,5})?$/

/** Whether Node's raw header list has exactly one valid Host. */
export function hasValidHost(rawHeaders: readonly string[]): boolean {
  let host: string | undefined
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (rawHeaders[i]!.length !== 4 || rawHeaders[i]!.toLowerCase() !== 'host') continue
    if (host !== undefined) return false
    host = rawHeaders[i + 1]!
  }
  return host !== undefined && HOST.test(host)
}
