import { createPublicKey, type KeyObject, X509Certificate } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import type { JWK } from 'jose'

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]+?-----END \1-----/g

function publicJwk(key: KeyObject): JWK {
  return key.export({ format: 'jwk' }) as JWK
}

/** The public keys of one PEM text: SPKI or PKCS#1 public keys and X.509 certificates, never private keys. */
function pemKeys(text: string, file: string): JWK[] {
  const keys: JWK[] = []
  for (const [block, label] of text.matchAll(PEM_BLOCK)) {
    if (label!.includes('PRIVATE')) {
      throw new Error(
        `${file} holds a private key (${label}): give flink-guard the public key or certificate only`,
      )
    }
    if (label === 'CERTIFICATE') keys.push(publicJwk(new X509Certificate(block).publicKey))
    else if (label === 'PUBLIC KEY' || label === 'RSA PUBLIC KEY')
      keys.push(publicJwk(createPublicKey(block)))
    else throw new Error(`${file}: a PEM "${label}" block is not a public key or certificate`)
  }
  if (keys.length === 0) throw new Error(`${file} holds no PEM public key, certificate, JWK or JWKS`)
  return keys
}

function jsonKeys(text: string, file: string): JWK[] {
  let document: unknown
  try {
    document = JSON.parse(text)
  } catch {
    throw new Error(`${file} is not valid JSON`)
  }
  if (document !== null && typeof document === 'object' && 'keys' in document) {
    if (!Array.isArray(document.keys)) throw new Error(`${file}: "keys" must be a list of JWKs`)
    return document.keys as JWK[]
  }
  if (document !== null && typeof document === 'object' && 'kty' in document) return [document as JWK]
  throw new Error(`${file} is neither a JWK nor a JWKS`)
}

/** Reads the configured key files (PEM, JWK or JWKS, told apart by content) into one list of JWKs. */
export async function readKeyFiles(files: readonly string[]): Promise<JWK[]> {
  const keys: JWK[] = []
  for (const file of files) {
    let text: string
    try {
      text = await readFile(file, 'utf8')
    } catch (err) {
      throw new Error(`${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? 'error'})`, {
        cause: err,
      })
    }
    try {
      keys.push(...(text.trimStart().startsWith('{') ? jsonKeys(text, file) : pemKeys(text, file)))
    } catch (err) {
      if ((err as Error).message.startsWith(file)) throw err
      throw new Error(`${file}: ${(err as Error).message}`, { cause: err })
    }
  }
  return keys
}
