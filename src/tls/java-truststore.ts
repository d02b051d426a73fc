import { randomBytes } from 'node:crypto'
import forge from 'node-forge'

const { asn1, pki } = forge
const { Class, Type } = asn1

/**
 * Java's mark of a trusted-certificate entry in a PKCS12 store (Oracle's TrustedKeyUsage attribute,
 * read by PKCS12KeyStore): a certificate bag without it is not loaded as a trust anchor, so a truststore made
 * by openssl or by node-forge's toPkcs12Asn1 looks empty to Flink. Its value lists the usages trusted:
 * anyExtendedKeyUsage, as keytool -importcert writes it.
 */
const JAVA_TRUSTED_KEY_USAGE = '2.16.840.1.113894.746875.1.1'
const ANY_EXTENDED_KEY_USAGE = '2.5.29.37.0'
const MAC_ITERATIONS = 10_000
const MAC_SALT_BYTES = 20

const oid = (id: string) => asn1.create(Class.UNIVERSAL, Type.OID, false, asn1.oidToDer(id).getBytes())
const octets = (bytes: string) => asn1.create(Class.UNIVERSAL, Type.OCTETSTRING, false, bytes)
const sequence = (items: forge.asn1.Asn1[]) => asn1.create(Class.UNIVERSAL, Type.SEQUENCE, true, items)
const set = (items: forge.asn1.Asn1[]) => asn1.create(Class.UNIVERSAL, Type.SET, true, items)
const explicit = (item: forge.asn1.Asn1) => asn1.create(Class.CONTEXT_SPECIFIC, 0, true, [item])
const data = (content: forge.asn1.Asn1) =>
  sequence([oid(pki.oids.data!), explicit(octets(asn1.toDer(content).getBytes()))])

/**
 * A PKCS12 truststore holding `cert` as one trusted-certificate entry, as `keytool -importcert -storetype
 * PKCS12` makes it: what Flink's security.ssl.rest.truststore (and so the Flink CLI) loads. Integrity is an
 * HMAC-SHA1 keyed from the password (RFC 7292 appendix B), which every Java since 8 verifies.
 */
export function javaTruststore(cert: forge.pki.Certificate, alias: string, password: string): Buffer {
  const certBag = sequence([
    oid(pki.oids.certBag!),
    explicit(
      sequence([
        oid(pki.oids.x509Certificate!),
        explicit(octets(asn1.toDer(pki.certificateToAsn1(cert)).getBytes())),
      ]),
    ),
    set([
      sequence([
        oid(pki.oids.friendlyName!),
        set([asn1.create(Class.UNIVERSAL, Type.BMPSTRING, false, alias)]),
      ]),
      sequence([oid(JAVA_TRUSTED_KEY_USAGE), set([oid(ANY_EXTENDED_KEY_USAGE)])]),
    ]),
  ])
  const authenticatedSafe = sequence([data(sequence([certBag]))])
  const salt = randomBytes(MAC_SALT_BYTES).toString('binary')
  const key = forge.pkcs12.generateKey(password, forge.util.createBuffer(salt), 3, MAC_ITERATIONS, 20)
  const hmac = forge.hmac.create()
  hmac.start('sha1', key)
  hmac.update(asn1.toDer(authenticatedSafe).getBytes())
  const pfx = sequence([
    asn1.create(Class.UNIVERSAL, Type.INTEGER, false, asn1.integerToDer(3).getBytes()),
    data(authenticatedSafe),
    sequence([
      sequence([
        sequence([oid(pki.oids.sha1!), asn1.create(Class.UNIVERSAL, Type.NULL, false, '')]),
        octets(hmac.digest().getBytes()),
      ]),
      octets(salt),
      asn1.create(Class.UNIVERSAL, Type.INTEGER, false, asn1.integerToDer(MAC_ITERATIONS).getBytes()),
    ]),
  ])
  return Buffer.from(asn1.toDer(pfx).getBytes(), 'binary')
}
