import { generateKeyPairSync, randomBytes } from 'node:crypto'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import forge from 'node-forge'
import { javaTruststore } from './java-truststore.js'

/**
 * A private CA with a server and a client certificate, as PEM and PKCS12 (readable by keytool), for the
 * quick start and for people without an internal CA. Keys are generated natively: node-forge's pure-JS RSA
 * is 10–50× slower; forge only builds and signs the certificates and packs the PKCS12.
 */

export interface GenCertsOptions {
  readonly dir: string
  /** DNS names of the server certificate (a wildcard such as *.flink.example works). */
  readonly dns: readonly string[]
  readonly ips: readonly string[]
  /** PKCS12 password. */
  readonly password: string
  readonly clientName: string
  readonly validityDays: number
}

interface Issued {
  readonly cert: forge.pki.Certificate
  readonly key: forge.pki.rsa.PrivateKey
  readonly keyPem: string
}

const RSA_BITS = 2048

function keyPair(): { key: forge.pki.rsa.PrivateKey; publicKey: forge.pki.rsa.PublicKey; keyPem: string } {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: RSA_BITS })
  const keyPem = privateKey.export({ format: 'pem', type: 'pkcs8' }) as string
  const key = forge.pki.privateKeyFromPem(keyPem) as forge.pki.rsa.PrivateKey
  return { key, publicKey: forge.pki.setRsaPublicKey(key.n, key.e), keyPem }
}

function issue(subject: string, days: number, extensions: object[], issuer: Issued | null): Issued {
  const { key, publicKey, keyPem } = keyPair()
  const cert = forge.pki.createCertificate()
  cert.publicKey = publicKey
  // Positive, random, 16 bytes (RFC 5280 §4.1.2.2).
  cert.serialNumber = `01${randomBytes(15).toString('hex')}`
  cert.validity.notBefore = new Date(Date.now() - 60_000)
  cert.validity.notAfter = new Date(Date.now() + days * 86_400_000)
  cert.setSubject([{ name: 'commonName', value: subject }])
  cert.setIssuer(issuer === null ? cert.subject.attributes : issuer.cert.subject.attributes)
  cert.setExtensions([...extensions, { name: 'subjectKeyIdentifier' }])
  cert.sign(issuer?.key ?? key, forge.md.sha256.create())
  return { cert, key, keyPem }
}

function pkcs12(issued: Issued, ca: Issued, alias: string, password: string): Buffer {
  const asn1 = forge.pkcs12.toPkcs12Asn1(issued.key, [issued.cert, ca.cert], password, {
    algorithm: 'aes256',
    friendlyName: alias,
    generateLocalKeyId: true,
  })
  return Buffer.from(forge.asn1.toDer(asn1).getBytes(), 'binary')
}

export function generateCertificates(options: GenCertsOptions): string[] {
  const { dir, validityDays: days } = options
  const ca = issue(
    'flink-guard development CA',
    days,
    [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    ],
    null,
  )
  const altNames = [
    ...options.dns.map((value) => ({ type: 2, value })),
    ...options.ips.map((ip) => ({ type: 7, ip })),
  ]
  const server = issue(
    options.dns[0] ?? options.ips[0] ?? 'localhost',
    days,
    [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames },
    ],
    ca,
  )
  const client = issue(
    options.clientName,
    days,
    [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, critical: true },
      { name: 'extKeyUsage', clientAuth: true },
    ],
    ca,
  )

  mkdirSync(dir, { recursive: true, mode: 0o700 })
  const pem = (cert: forge.pki.Certificate) => forge.pki.certificateToPem(cert)
  const files: [string, string | Buffer, number][] = [
    ['ca.pem', pem(ca.cert), 0o644],
    ['ca-key.pem', ca.keyPem, 0o600],
    ['server.pem', pem(server.cert) + pem(ca.cert), 0o644],
    ['server-key.pem', server.keyPem, 0o600],
    ['server.p12', pkcs12(server, ca, 'flink.rest', options.password), 0o600],
    ['client.pem', pem(client.cert) + pem(ca.cert), 0o644],
    ['client-key.pem', client.keyPem, 0o600],
    ['client.p12', pkcs12(client, ca, 'client', options.password), 0o600],
    // For the Flink CLI and Flink itself: security.ssl.rest.truststore loads only Java-marked entries.
    ['ca.truststore.p12', javaTruststore(ca.cert, 'ca', options.password), 0o644],
  ]
  for (const [name, content, mode] of files) writeFileSync(join(dir, name), content, { mode })
  return files.map(([name]) => join(dir, name))
}
