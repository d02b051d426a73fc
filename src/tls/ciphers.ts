import { IANA_TO_OPENSSL } from './cipher-table.js'

/**
 * Cipher suite names as Flink users write them (`security.ssl.algorithms`: Java/IANA names such as
 * TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, comma-separated) or as OpenSSL names, turned into the OpenSSL
 * list Node takes. An unknown name is an error naming it: Node would accept it and fail every handshake.
 */

const OPENSSL_NAMES = new Set(Object.values(IANA_TO_OPENSSL))

export type CipherList =
  | { readonly ok: true; readonly openssl: string }
  | { readonly ok: false; readonly unknown: string[] }

export function cipherNames(value: string | readonly string[]): string[] {
  const items = typeof value === 'string' ? value.split(',') : value
  return items.map((name) => name.trim()).filter((name) => name !== '')
}

export function resolveCiphers(value: string | readonly string[]): CipherList {
  const unknown: string[] = []
  const openssl: string[] = []
  for (const name of cipherNames(value)) {
    // Java still spells some suites with the SSL_ prefix of its SSLv3 days (SSL_RSA_WITH_AES_128_CBC_SHA).
    const iana = name.startsWith('SSL_') ? `TLS_${name.slice(4)}` : name
    const mapped = IANA_TO_OPENSSL[iana] ?? (OPENSSL_NAMES.has(name) ? name : undefined)
    if (mapped === undefined) unknown.push(name)
    else if (!openssl.includes(mapped)) openssl.push(mapped)
  }
  if (unknown.length > 0 || openssl.length === 0) return { ok: false, unknown }
  return { ok: true, openssl: openssl.join(':') }
}
