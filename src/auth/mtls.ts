import { TLSSocket } from 'node:tls'
import type { Static } from '@sinclair/typebox'
import type { Authenticator, AuthOutcome, Credentials } from './authenticator.js'
import type { AuthConfigSchema } from './config.js'
import type { Identity } from './identity.js'

type MtlsConfig = NonNullable<Static<typeof AuthConfigSchema>['mtls']>

const SAN_PREFIX = { dns: 'DNS:', email: 'email:', uri: 'URI:' } as const

/**
 * Client-certificate identity: how the Flink CLI (`security.ssl.rest.authentication-enabled` with a client
 * keystore) and the Kubernetes operator authenticate. The certificate was verified at the handshake against
 * the truststore (and the pins); here it only becomes a user. A certificate that did not verify, which
 * `tls.clientAuth: request` lets through the handshake, is a refusal, not an anonymous request.
 */
export class MtlsAuthenticator implements Authenticator {
  readonly method = 'mtls' as const
  readonly readinessNeedsProvider = false

  constructor(private readonly config: MtlsConfig) {}

  authenticate(credentials: Credentials): AuthOutcome {
    const socket = credentials.socket
    if (!(socket instanceof TLSSocket)) return { kind: 'absent' }
    const certificate = socket.getPeerCertificate()
    if (certificate === null || Object.keys(certificate).length === 0) return { kind: 'absent' }
    if (!socket.authorized) return this.refuse('unverified_certificate')
    const subject = this.subjectOf(certificate)
    if (subject === undefined) return this.refuse('no_subject')
    const roles = new Set(this.config.roles[subject] ?? [])
    if (this.config.ouAsRoles) for (const ou of asList(certificate.subject?.OU)) roles.add(ou)
    const identity: Identity = {
      subject,
      roles: [...roles],
      method: 'mtls',
      claims: {
        subject: certificate.subject,
        issuer: certificate.issuer,
        serialNumber: certificate.serialNumber,
        fingerprint256: certificate.fingerprint256,
        validTo: certificate.valid_to,
      },
    }
    return { kind: 'accepted', identity }
  }

  private subjectOf(certificate: ReturnType<TLSSocket['getPeerCertificate']>): string | undefined {
    if (this.config.subjectFrom === 'cn') return asList(certificate.subject?.CN)[0]
    const prefix = SAN_PREFIX[this.config.subjectFrom]
    // Node renders the SAN extension as `DNS:a, IP Address:1.2.3.4, email:x@y` (values never contain ", ").
    for (const entry of (certificate.subjectaltname ?? '').split(', ')) {
      if (entry.startsWith(prefix) && entry.length > prefix.length) return entry.slice(prefix.length)
    }
    return undefined
  }

  private refuse(reason: string): AuthOutcome {
    return { kind: 'refused', method: 'mtls', code: 'FG_ERR_AUTH_CLIENT_CERT', reason }
  }

  challenge(): null {
    return null
  }

  ready() {
    return { ok: true }
  }

  async close(): Promise<void> {}
}

function asList(value: string | string[] | undefined): string[] {
  if (value === undefined) return []
  return Array.isArray(value) ? value : [value]
}
