import { type Static, Type } from '@sinclair/typebox'
import { resolveCiphers } from './ciphers.js'
import { parsePin } from './fingerprint.js'

const optionalString = (description: string) => Type.Optional(Type.String({ minLength: 1, description }))
const secret = (description: string) => Type.Optional(Type.String({ description }))

const PinsSchema = (description: string) =>
  Type.Array(Type.String({ minLength: 1 }), { default: [], description })

export const TlsConfigSchema = Type.Object(
  {
    cert: optionalString(
      'PEM certificate of the proxy (leaf first; the chain may follow). With tls.key; or use tls.keystore.',
    ),
    key: optionalString(
      'PEM private key for tls.cert (PKCS#8 or traditional; encrypted keys take tls.keyPassword).',
    ),
    chain: optionalString('PEM intermediate certificates, when not appended to tls.cert.'),
    keystore: optionalString(
      "Java keystore holding the proxy's key and certificate: PKCS12 or JKS, detected by content (Flink's security.ssl.rest.keystore).",
    ),
    keystorePassword: secret("The keystore's password (security.ssl.rest.keystore-password)."),
    keyPassword: secret(
      'Password of the key entry (security.ssl.rest.key-password); defaults to the keystore password. Also decrypts an encrypted PEM key.',
    ),
    keyAlias: optionalString('Which key entry to use when the keystore holds several.'),
    truststore: optionalString(
      'CAs that client certificates must chain to: PEM bundle, DER certificate, PKCS12 or JKS truststore, or the keystore itself (security.ssl.rest.truststore).',
    ),
    truststorePassword: secret("The truststore's password (security.ssl.rest.truststore-password)."),
    clientAuth: Type.Union([Type.Literal('none'), Type.Literal('request'), Type.Literal('require')], {
      default: 'none',
      description:
        'Client certificates: none; request (verified when sent, other methods still allowed); require (mutual TLS, security.ssl.rest.authentication-enabled). request and require need tls.truststore.',
    }),
    pinnedFingerprints: PinsSchema(
      'SHA-1 or SHA-256 fingerprints of the client certificates allowed (security.ssl.rest.cert.fingerprint): hex, colons optional, optionally prefixed sha1: / sha256:. Checked at the handshake, on top of the truststore.',
    ),
    minVersion: Type.Union([Type.Literal('TLSv1.2'), Type.Literal('TLSv1.3')], {
      default: 'TLSv1.2',
      description: 'Lowest TLS version accepted (security.ssl.protocol).',
    }),
    maxVersion: Type.Optional(
      Type.Union([Type.Literal('TLSv1.2'), Type.Literal('TLSv1.3')], {
        description:
          'Highest TLS version accepted (default TLSv1.3). security.ssl.protocol: TLSv1.2 from flinkConf sets both, so the listener speaks exactly what Flink did.',
      }),
    ),
    sessionTickets: Type.Boolean({
      default: true,
      description:
        "Session tickets, with which returning clients resume a TLS session without a full handshake (TLS 1.3's only resumption; Flink's RestClient opens a new connection per request). Every resumption gets a fresh ticket, so Java's single-use TLS 1.3 tickets resume on every reconnect. false: no ticket is issued (TLS 1.2 or 1.3) and there is no session-ID cache either, so every new connection is a full handshake, as some security policies ask.",
    }),
    sessionLifetimeSec: Type.Integer({
      default: 300,
      minimum: 60,
      maximum: 86_400,
      description:
        "How long a TLS session can be resumed, and how often the ticket keys (random, in memory only) rotate: a key seals tickets for one lifetime and opens them for one more, so none outlives twice this. The default is Node's and NGINX's session timeout.",
    }),
    ciphers: Type.Optional(
      Type.Union(
        [Type.String({ minLength: 1 }), Type.Array(Type.String({ minLength: 1 }), { minItems: 1 })],
        {
          description:
            "Cipher suites: Java/IANA names as in Flink's security.ssl.algorithms (comma-separated or a list) or OpenSSL names. Default: Node's.",
        },
      ),
    ),
  },
  { additionalProperties: false, description: 'TLS on the proxy listener (HTTPS). Absent: plain HTTP.' },
)

export type TlsConfig = Static<typeof TlsConfigSchema>

export const UpstreamTlsConfigSchema = Type.Object(
  {
    truststore: optionalString(
      "CAs that Flink's REST certificate must chain to (security.ssl.rest.truststore); default: the system CAs.",
    ),
    truststorePassword: secret("The truststore's password."),
    verifyHostname: Type.Boolean({
      default: true,
      description: "Check that Flink's certificate names the host (security.ssl.verify-hostname).",
    }),
    servername: optionalString('Host name to send (SNI) and verify instead of the one in upstream.url.'),
    pinnedFingerprints: PinsSchema(
      "SHA-1 or SHA-256 fingerprints Flink's certificate must have (security.ssl.rest.cert.fingerprint).",
    ),
    keystore: optionalString(
      'Client certificate for Flink when it requires one (security.ssl.rest.authentication-enabled): PKCS12 or JKS.',
    ),
    keystorePassword: secret("The keystore's password."),
    keyPassword: secret('Password of the key entry; defaults to the keystore password.'),
  },
  { additionalProperties: false, default: {}, description: 'TLS to Flink, used when upstream.url is https.' },
)

export type UpstreamTlsConfig = Static<typeof UpstreamTlsConfigSchema>

/** Checks the schema cannot express, each naming its key. Values are type-guarded: they run on any input. */
export function tlsConfigProblems(tls: Partial<TlsConfig> | undefined): string[] {
  if (tls === undefined || typeof tls !== 'object') return []
  const problems: string[] = []
  const pem = tls.cert !== undefined || tls.key !== undefined
  if (pem && tls.keystore !== undefined)
    problems.push('"tls.keystore" and "tls.cert"/"tls.key" are exclusive: configure one')
  else if (!pem && tls.keystore === undefined)
    problems.push('"tls" needs "tls.keystore", or "tls.cert" and "tls.key"')
  else if (pem && (tls.cert === undefined || tls.key === undefined))
    problems.push('"tls.cert" and "tls.key" go together')
  if (tls.maxVersion === 'TLSv1.2' && tls.minVersion === 'TLSv1.3') {
    problems.push('"tls.maxVersion" TLSv1.2 is below "tls.minVersion" TLSv1.3: no version would be left')
  }
  if ((tls.clientAuth === 'request' || tls.clientAuth === 'require') && tls.truststore === undefined) {
    problems.push(
      `"tls.clientAuth: ${tls.clientAuth}" needs "tls.truststore" (the CAs client certificates must chain to)`,
    )
  }
  if ((tls.pinnedFingerprints?.length ?? 0) > 0 && (tls.clientAuth ?? 'none') === 'none') {
    problems.push(
      '"tls.pinnedFingerprints" pins client certificates: set "tls.clientAuth" to request or require',
    )
  }
  problems.push(...pinProblems(tls.pinnedFingerprints, 'tls.pinnedFingerprints'))
  if (tls.ciphers !== undefined && (typeof tls.ciphers === 'string' || Array.isArray(tls.ciphers))) {
    const resolved = resolveCiphers(tls.ciphers)
    if (!resolved.ok) {
      problems.push(
        resolved.unknown.length > 0
          ? `"tls.ciphers" names unknown cipher suites: ${resolved.unknown.join(', ')}`
          : '"tls.ciphers" names no cipher suite',
      )
    }
  }
  return problems
}

export function pinProblems(pins: unknown, key: string): string[] {
  if (!Array.isArray(pins)) return []
  return pins.flatMap((pin, index) => {
    if (typeof pin !== 'string') return []
    const parsed = parsePin(pin)
    return typeof parsed === 'string' ? [`"${key}[${index}]" ${parsed}, got "${pin}"`] : []
  })
}
