import forge from 'node-forge'
import { StoreError } from './store-error.js'

/**
 * PKCS#12 through node-forge, which reads what keytool writes, Java 17's PBES2/AES-256-CBC/HMAC-SHA256
 * files included, and checks the MAC with the password. Node itself only takes a PKCS#12 whole as `pfx`,
 * which turns every CA certificate in it into a trust anchor for client certificates, so the entries are
 * taken apart here and handed on as DER. forge cannot parse EC keys and certificates; for those it keeps
 * the raw ASN.1, which is re-encoded to DER and left to Node's crypto.
 */

/** Java marks trusted-certificate entries with this attribute (oracle TrustedKeyUsage). */
const JAVA_TRUSTED_KEY_USAGE = '2.16.840.1.113894.746875.1.1'
const JAVA_TRUSTED = 'javaTrustedKeyUsage'
// forge keeps only bag attributes whose OID it has a name for: teach it Java's trust mark.
forge.pki.oids[JAVA_TRUSTED_KEY_USAGE] = JAVA_TRUSTED
forge.pki.oids[JAVA_TRUSTED] = JAVA_TRUSTED_KEY_USAGE
const KEY_BAG_TYPES = new Set([forge.pki.oids.pkcs8ShroudedKeyBag, forge.pki.oids.keyBag])

export interface Pkcs12Entry {
  readonly kind: 'key' | 'cert'
  readonly alias: string | undefined
  /** Links a key to its certificate (PKCS#9 localKeyId), hex. */
  readonly localKeyId: string | undefined
  /** PKCS#8 for keys, X.509 for certificates. */
  readonly der: Buffer
  /** A Java trusted-certificate entry (as opposed to a certificate of a key entry). */
  readonly trusted: boolean
}

const toBuffer = (asn1: forge.asn1.Asn1) => Buffer.from(forge.asn1.toDer(asn1).getBytes(), 'binary')

export function parsePkcs12(data: Buffer, password: string): Pkcs12Entry[] {
  let asn1: forge.asn1.Asn1
  try {
    asn1 = forge.asn1.fromDer(forge.util.createBuffer(data.toString('binary')))
  } catch {
    throw new StoreError('corrupt', 'the file is neither PEM, DER, JKS nor a readable PKCS#12 keystore')
  }
  let p12: forge.pkcs12.Pkcs12Pfx
  try {
    p12 = forge.pkcs12.pkcs12FromAsn1(asn1, false, password)
  } catch (err) {
    const message = (err as Error).message
    if (/MAC could not be verified|Invalid password/i.test(message)) {
      throw new StoreError('wrong-store-password', 'the keystore password is wrong (or the file was altered)')
    }
    throw new StoreError('corrupt', `the PKCS#12 keystore cannot be read: ${message}`)
  }
  const entries: Pkcs12Entry[] = []
  for (const contents of p12.safeContents) {
    for (const bag of contents.safeBags) {
      const attributes = bag.attributes as Record<string, unknown[] | undefined>
      const alias = attributes.friendlyName?.[0] as string | undefined
      const id = attributes.localKeyId?.[0] as string | undefined
      const localKeyId = id === undefined ? undefined : Buffer.from(id, 'binary').toString('hex')
      const trusted = attributes[JAVA_TRUSTED] !== undefined
      if (KEY_BAG_TYPES.has(bag.type)) {
        const der = bag.key
          ? toBuffer(forge.pki.wrapRsaPrivateKey(forge.pki.privateKeyToAsn1(bag.key)))
          : bag.asn1 && toBuffer(bag.asn1)
        if (!der) throw new StoreError('corrupt', 'a key entry could not be decrypted')
        entries.push({ kind: 'key', alias, localKeyId, der, trusted: false })
      } else if (bag.type === forge.pki.oids.certBag) {
        // For a certificate forge cannot parse (EC keys), bag.asn1 is the certificate's own ASN.1.
        const der = bag.cert
          ? toBuffer(forge.pki.certificateToAsn1(bag.cert))
          : bag.asn1 && toBuffer(bag.asn1)
        if (!der) throw new StoreError('corrupt', 'a certificate entry could not be read')
        entries.push({ kind: 'cert', alias, localKeyId, der, trusted })
      }
    }
  }
  return entries
}
