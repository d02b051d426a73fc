/** How an identity was established; each authenticator owns one value. */
export type AuthMethod = 'mtls' | 'jwt' | 'oidc' | 'basic' | 'anonymous'

/** Who is calling, established once per request in `onRequest` and read by authorization. */
export interface Identity {
  /** Stable subject: the token's `sub` (or configured claim), the htpasswd user, the certificate's CN/SAN. */
  readonly subject: string
  /** Group or role names as the credential states them; authorization maps them to presets. */
  readonly roles: readonly string[]
  readonly method: AuthMethod
  /** Verified claims (JWT/OIDC) or certificate fields (mTLS); empty for basic auth. */
  readonly claims: Readonly<Record<string, unknown>>
}
