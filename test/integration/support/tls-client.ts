import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { request as httpsRequest } from 'node:https'
import { join } from 'node:path'
import { type ConnectionOptions, connect, type TLSSocket } from 'node:tls'
import { promisify } from 'node:util'

export const TLS_FIXTURES = join(import.meta.dirname, '../../fixtures/tls')
export const fixture = (name: string) => join(TLS_FIXTURES, name)
export const readFixture = (name: string) => readFileSync(fixture(name))
/** The passwords of scripts/make-tls-fixtures.sh (Flink's SSL docs' own). */
export const KEYSTORE_PASSWORD = 'rest_keystore_password'
export const KEY_PASSWORD = 'rest_key_password'
export const TRUSTSTORE_PASSWORD = 'rest_truststore_password'

/** `SHA1: …` and `SHA256: …` as keytool printed them for a fixture. */
export function fingerprintsOf(name: string): { sha1: string; sha256: string } {
  const text = readFileSync(fixture(`${name}.fingerprints`), 'utf8')
  return {
    sha1: /^SHA1: (.+)$/m.exec(text)![1]!,
    sha256: /^SHA256: (.+)$/m.exec(text)![1]!,
  }
}

export interface HttpsResult {
  status: number
  body: string
  cipher: string
  protocol: string | null
}

/** One GET over a fresh TLS connection with verification on (never rejectUnauthorized: false). */
export function httpsGet(url: string, tls: ConnectionOptions): Promise<HttpsResult> {
  return new Promise((resolve, reject) => {
    const request = httpsRequest(url, { ...tls, agent: false }, (response) => {
      const socket = response.socket as TLSSocket
      const chunks: Buffer[] = []
      response.on('data', (chunk: Buffer) => chunks.push(chunk))
      response.on('end', () =>
        resolve({
          status: response.statusCode ?? 0,
          body: Buffer.concat(chunks).toString('utf8'),
          cipher: socket.getCipher()?.name ?? '',
          protocol: socket.getProtocol(),
        }),
      )
    })
    request.on('error', reject)
    request.end()
  })
}

/**
 * Completes a TLS handshake and writes a request at once, as a client does; resolves with what came back
 * before the connection ended (empty when the proxy cut it).
 */
export function handshakeAndSend(port: number, tls: ConnectionOptions, raw: string): Promise<string> {
  return new Promise((resolve) => {
    let received = ''
    const socket = connect({ host: '127.0.0.1', port, ...tls }, () => socket.write(raw))
    socket.setEncoding('latin1')
    socket.on('data', (chunk: string) => {
      received += chunk
    })
    socket.on('error', () => resolve(received))
    socket.on('close', () => resolve(received))
    socket.setTimeout(5_000, () => socket.destroy())
  })
}

const run = promisify(execFile)

/** curl as Flink's docs write it; resolves with its exit code, stdout and stderr. */
export async function curl(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run('curl', ['-sS', '--max-time', '10', ...args])
    return { code: 0, stdout, stderr }
  } catch (err) {
    const failure = err as { code?: number; stdout?: string; stderr?: string }
    return { code: failure.code ?? -1, stdout: failure.stdout ?? '', stderr: failure.stderr ?? '' }
  }
}
