import type { X509Certificate } from 'node:crypto'

/**
 * Certificate fingerprints as Flink writes them (`security.ssl.rest.cert.fingerprint`: SHA-1 hex, colons
 * optional, any case) and as keytool prints them, SHA-256 too, optionally prefixed `sha1:` / `sha256:`.
 */

export interface Pin {
  readonly algorithm: 'sha1' | 'sha256'
  /** Upper-case hex without separators. */
  readonly hex: string
}

const HEX_LENGTH = { sha1: 40, sha256: 64 } as const

/** Parses one pin, or returns why it is not one. */
export function parsePin(text: string): Pin | string {
  const match = /^(?:(sha1|sha-1|sha256|sha-256):)?([0-9a-f:\s]+)$/i.exec(text.trim())
  if (match === null)
    return 'must be a SHA-1 or SHA-256 fingerprint in hex (colons optional), optionally prefixed sha1: or sha256:'
  const hex = match[2]!.replace(/[:\s]/g, '').toUpperCase()
  const named = match[1]?.toLowerCase().replace('-', '') as 'sha1' | 'sha256' | undefined
  const algorithm =
    named ??
    (hex.length === HEX_LENGTH.sha1 ? 'sha1' : hex.length === HEX_LENGTH.sha256 ? 'sha256' : undefined)
  if (algorithm === undefined || hex.length !== HEX_LENGTH[algorithm]) {
    return `must have ${HEX_LENGTH.sha1} (SHA-1) or ${HEX_LENGTH.sha256} (SHA-256) hex digits, got ${hex.length}`
  }
  return { algorithm, hex }
}

const plain = (fingerprint: string) => fingerprint.replace(/:/g, '').toUpperCase()

/** Pins compiled for the handshake: a set lookup per connection. */
export class PinSet {
  private readonly sha1: ReadonlySet<string>
  private readonly sha256: ReadonlySet<string>

  constructor(pins: readonly Pin[]) {
    this.sha1 = new Set(pins.filter((pin) => pin.algorithm === 'sha1').map((pin) => pin.hex))
    this.sha256 = new Set(pins.filter((pin) => pin.algorithm === 'sha256').map((pin) => pin.hex))
  }

  get size(): number {
    return this.sha1.size + this.sha256.size
  }

  /** `fingerprint` and `fingerprint256` as Node's getPeerCertificate() or X509Certificate give them. */
  matches(certificate: { fingerprint?: string; fingerprint256?: string }): boolean {
    // No certificate to look at (a resumed session, an anonymous peer) is never a match.
    if (certificate.fingerprint === undefined || certificate.fingerprint256 === undefined) return false
    return this.sha1.has(plain(certificate.fingerprint)) || this.sha256.has(plain(certificate.fingerprint256))
  }
}

/** keytool's format: `SHA1: AB:CD:…` and `SHA256: …`. */
export function keytoolFingerprints(certificate: X509Certificate): string {
  return `SHA1: ${certificate.fingerprint}\nSHA256: ${certificate.fingerprint256}`
}
