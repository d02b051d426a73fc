/**
 * Query parameters that carry a credential: a bearer token some clients put in the URL (RFC 6750 §2.3),
 * the OIDC callback's authorization code and state (RFC 6749 §4.1.2; the code is exchangeable for tokens
 * until used, the state binds it to a browser), and their kin. Matched case-insensitively, by name.
 */
const SECRET_PARAMETERS = new Set([
  'access_token',
  'id_token',
  'refresh_token',
  'token',
  'code',
  'state',
  'session_state',
  'client_secret',
  'password',
])

const CENSOR = '[redacted]'

/** The request target as it may be logged: the value of every credential-carrying parameter replaced. */
export function redactUrl(url: string): string {
  const queryAt = url.indexOf('?')
  if (queryAt === -1) return url
  const query = url
    .slice(queryAt + 1)
    .split('&')
    .map((pair) => {
      const equals = pair.indexOf('=')
      const rawName = equals === -1 ? pair : pair.slice(0, equals)
      let name = rawName
      try {
        name = decodeURIComponent(rawName.replace(/\+/g, ' '))
      } catch {
        // An undecodable name is logged as sent; it cannot be one of ours spelled with a bad escape.
      }
      return equals !== -1 && SECRET_PARAMETERS.has(name.toLowerCase()) ? `${rawName}=${CENSOR}` : pair
    })
    .join('&')
  return `${url.slice(0, queryAt)}?${query}`
}
