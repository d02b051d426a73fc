import { createPrivateKey, type KeyObject, X509Certificate } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { decryptJksKey, isJks, parseJks } from './jks.js'
import { parsePkcs12 } from './pkcs12.js'
import { StoreError } from './store-error.js'

/**
 * Key material and trust anchors from the files Flink users have: PEM, DER (`keytool -exportcert`),
 * PKCS#12 and JKS keystores and truststores. The format is detected by content, never by file name.
 * Everything leaves as PEM-ready objects: Node's `ca` silently trusts nothing when handed DER or PKCS#12
 * bytes, and `pfx` would trust every CA certificate inside the keystore.
 */

export interface KeyMaterial {
  readonly key: KeyObject
  /** Leaf first, then the intermediates that lead to a root (roots left out). */
  readonly chain: readonly X509Certificate[]
}

export interface KeystoreOptions {
  readonly password?: string | undefined
  /** Defaults to the store password (PKCS#12 made by keytool has only one). */
  readonly keyPassword?: string | undefined
  /** Required when the store holds several keys. */
  readonly alias?: string | undefined
}

const PEM_START = /^\s*-----BEGIN /
const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g

export function readFile(file: string): Buffer {
  try {
    return readFileSync(file)
  } catch (err) {
    throw new StoreError('unreadable', `cannot read (${(err as NodeJS.ErrnoException).code ?? 'error'})`)
  }
}

const isPem = (data: Buffer) => PEM_START.test(data.subarray(0, 64).toString('latin1'))

function pemCertificates(text: string): X509Certificate[] {
  return [...text.matchAll(PEM_CERTIFICATE)].map((match) => new X509Certificate(match[0]))
}

function certificate(der: Buffer): X509Certificate {
  try {
    return new X509Certificate(der)
  } catch {
    throw new StoreError('corrupt', 'a certificate in it cannot be parsed')
  }
}

function privateKey(key: Buffer | string, format: 'pem' | 'der', passphrase?: string): KeyObject {
  try {
    return format === 'der'
      ? createPrivateKey({ key: key as Buffer, format: 'der', type: 'pkcs8' })
      : createPrivateKey({ key, format: 'pem', ...(passphrase === undefined ? {} : { passphrase }) })
  } catch (err) {
    const code = (err as { code?: string }).code ?? ''
    if (/BAD_DECRYPT|PASSPHRASE|INTERRUPTED_OR_CANCELLED/i.test(`${code} ${(err as Error).message}`)) {
      throw new StoreError(
        'wrong-key-password',
        'the key password is wrong (or missing for an encrypted key)',
      )
    }
    throw new StoreError('corrupt', `the private key cannot be read (${code || (err as Error).message})`)
  }
}

/** Orders `certificates` into a chain from `leaf`, following issuers; self-signed roots are left out. */
function chainFrom(leaf: X509Certificate, certificates: readonly X509Certificate[]): X509Certificate[] {
  const chain = [leaf]
  let current = leaf
  while (current.issuer !== current.subject && chain.length < 10) {
    const issuer = certificates.find(
      (candidate) => current.checkIssued(candidate) && !chain.includes(candidate),
    )
    if (issuer === undefined || issuer.issuer === issuer.subject) break
    chain.push(issuer)
    current = issuer
  }
  return chain
}

function checkPair(key: KeyObject, leaf: X509Certificate): KeyMaterial['chain'][number] {
  if (!leaf.checkPrivateKey(key))
    throw new StoreError('mismatch', 'the private key does not belong to the certificate')
  return leaf
}

/** A Java keystore (PKCS#12 or JKS): the one key entry, or the one named by `alias`. */
export function keyMaterialFromKeystore(data: Buffer, options: KeystoreOptions): KeyMaterial {
  const password = options.password ?? ''
  if (isPem(data))
    throw new StoreError('unsupported', 'this is a PEM file: configure it as tls.cert and tls.key')
  if (isJks(data)) {
    const entries = parseJks(data, password)
    const keys = entries.filter((entry) => entry.kind === 'key')
    const entry = pickAlias(keys, options.alias)
    const key = privateKey(decryptJksKey(entry.protectedKey, options.keyPassword ?? password), 'der')
    const chain = entry.chain.map(certificate)
    if (chain.length === 0)
      throw new StoreError('no-certificate', `key entry "${entry.alias}" has no certificate`)
    checkPair(key, chain[0]!)
    return { key, chain: chainFrom(chain[0]!, chain) }
  }
  const entries = parsePkcs12(data, password)
  const keys = entries.filter((entry) => entry.kind === 'key')
  const entry = pickAlias(keys, options.alias)
  const key = privateKey(entry.der, 'der')
  const certificates = entries.filter((e) => e.kind === 'cert').map((e) => ({ e, cert: certificate(e.der) }))
  const leaf =
    certificates.find(({ e }) => entry.localKeyId !== undefined && e.localKeyId === entry.localKeyId)?.cert ??
    certificates.find(({ cert }) => cert.checkPrivateKey(key))?.cert
  if (leaf === undefined) throw new StoreError('no-certificate', 'the key entry has no certificate')
  checkPair(key, leaf)
  return {
    key,
    chain: chainFrom(
      leaf,
      certificates.map(({ cert }) => cert),
    ),
  }
}

function pickAlias<T extends { alias: string | undefined }>(
  keys: readonly T[],
  alias: string | undefined,
): T {
  if (keys.length === 0) throw new StoreError('no-key', 'the keystore holds no private key entry')
  if (alias !== undefined) {
    const found = keys.find((key) => key.alias === alias)
    if (found === undefined) {
      throw new StoreError(
        'alias',
        `no key entry "${alias}"; the keystore has ${keys.map((k) => `"${k.alias}"`).join(', ')}`,
      )
    }
    return found
  }
  if (keys.length > 1) {
    throw new StoreError(
      'alias',
      `the keystore has several key entries (${keys.map((k) => `"${k.alias}"`).join(', ')}): set the key alias`,
    )
  }
  return keys[0]!
}

/** PEM files: a certificate (with its chain after it, or in a separate chain file) and a key. */
export function keyMaterialFromPem(
  cert: Buffer,
  key: Buffer,
  chain: Buffer | null,
  keyPassword?: string,
): KeyMaterial {
  const certificates = pemCertificates(cert.toString('utf8'))
  if (certificates.length === 0)
    throw new StoreError('no-certificate', 'the certificate file holds no PEM certificate')
  if (chain !== null) certificates.push(...pemCertificates(chain.toString('utf8')))
  const privateKeyObject = privateKey(key.toString('utf8'), 'pem', keyPassword)
  checkPair(privateKeyObject, certificates[0]!)
  return { key: privateKeyObject, chain: chainFrom(certificates[0]!, certificates) }
}

/**
 * Trust anchors: a PEM bundle, one DER certificate, or a PKCS#12/JKS truststore, whose trusted-certificate
 * entries are the anchors (so a keystore used as its own truststore, as in Flink's internal-connectivity
 * example, trusts its CA entries, not its own key's chain).
 */
export function trustAnchors(data: Buffer, password: string | undefined): X509Certificate[] {
  if (data.length === 0) throw new StoreError('no-certificate', 'the truststore file is empty')
  let anchors: X509Certificate[]
  if (isPem(data)) anchors = pemCertificates(data.toString('utf8'))
  else if (isJks(data)) {
    anchors = parseJks(data, password ?? '').flatMap((entry) =>
      entry.kind === 'cert' ? [certificate(entry.cert)] : [],
    )
  } else {
    let der: X509Certificate | null = null
    try {
      der = new X509Certificate(data)
    } catch {}
    if (der !== null) anchors = [der]
    else {
      const entries = parsePkcs12(data, password ?? '')
      const certs = entries.filter((entry) => entry.kind === 'cert')
      const marked = certs.filter((entry) => entry.trusted)
      // A PKCS#12 made by openssl has no Java trust marks: a bag of certificates and nothing else is a bundle.
      const bundle = marked.length === 0 && entries.every((entry) => entry.kind === 'cert')
      anchors = (bundle ? certs : marked).map((entry) => certificate(entry.der))
    }
  }
  if (anchors.length === 0)
    throw new StoreError('no-certificate', 'the truststore holds no trusted certificate')
  return anchors
}

/** Every certificate in a file, with its keystore alias where it has one: for `flink-guard fingerprint`. */
export function listCertificates(
  data: Buffer,
  password: string | undefined,
): { alias: string | null; cert: X509Certificate }[] {
  if (data.length === 0) throw new StoreError('no-certificate', 'the file is empty')
  if (isPem(data)) return pemCertificates(data.toString('utf8')).map((cert) => ({ alias: null, cert }))
  if (isJks(data)) {
    return parseJks(data, password ?? '').flatMap((entry) =>
      entry.kind === 'cert'
        ? [{ alias: entry.alias, cert: certificate(entry.cert) }]
        : entry.chain.slice(0, 1).map((der) => ({ alias: entry.alias, cert: certificate(der) })),
    )
  }
  try {
    return [{ alias: null, cert: new X509Certificate(data) }]
  } catch {}
  return parsePkcs12(data, password ?? '')
    .filter((entry) => entry.kind === 'cert')
    .map((entry) => ({ alias: entry.alias ?? null, cert: certificate(entry.der) }))
}
