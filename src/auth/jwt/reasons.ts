import { errors } from 'jose'

/** Why a bearer token was refused: the fixed vocabulary of the log and the auth-failure metric label. */
export type JwtRefusalReason =
  | 'malformed'
  | 'too_large'
  | 'algorithm'
  | 'unknown_key'
  | 'keys_unavailable'
  | 'bad_signature'
  | 'expired'
  | 'not_yet_valid'
  | 'bad_issuer'
  | 'bad_audience'
  | 'missing_claim'
  | 'bad_claim'
  | 'missing_subject'
  | 'unsupported'

/** Maps a jose verification error to its reason; anything jose does not classify is a malformed token. */
export function reasonFor(err: unknown): JwtRefusalReason {
  if (err instanceof errors.JWTExpired) return 'expired'
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === 'nbf') return 'not_yet_valid'
    if (err.claim === 'iss') return 'bad_issuer'
    if (err.claim === 'aud') return 'bad_audience'
    return err.reason === 'missing' ? 'missing_claim' : 'bad_claim'
  }
  if (err instanceof errors.JWSSignatureVerificationFailed) return 'bad_signature'
  if (err instanceof errors.JOSEAlgNotAllowed) return 'algorithm'
  if (err instanceof errors.JOSENotSupported) return 'unsupported'
  return 'malformed'
}
