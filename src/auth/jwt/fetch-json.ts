import { type Dispatcher, request } from 'undici'
import { readBounded } from '../../proxy/read-bounded.js'

/** A JWKS or discovery document is a few KiB; anything far larger is not one and is not buffered. */
export const MAX_KEY_DOCUMENT_BYTES = 512 * 1024

/**
 * GETs a JSON document from an IdP: 200 only, no redirects (a key source is configured, never chased),
 * bounded in time and size. Throws an Error whose message names the URL and what went wrong.
 */
export async function fetchJson(url: string, timeoutMs: number, dispatcher?: Dispatcher): Promise<unknown> {
  const response = await request(url, {
    method: 'GET',
    headers: { accept: 'application/json, application/jwk-set+json' },
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    signal: AbortSignal.timeout(timeoutMs),
    ...(dispatcher ? { dispatcher } : {}),
  })
  if (response.statusCode !== 200) {
    await response.body.dump()
    throw new Error(`GET ${url} answered ${response.statusCode}`)
  }
  const declared = Number(response.headers['content-length'] ?? 0)
  if (declared > MAX_KEY_DOCUMENT_BYTES) {
    await response.body.dump()
    throw new Error(`GET ${url} sent ${declared} bytes, more than ${MAX_KEY_DOCUMENT_BYTES}`)
  }
  const body = await readBounded(
    response.body,
    MAX_KEY_DOCUMENT_BYTES,
    () => new Error(`GET ${url} sent more than ${MAX_KEY_DOCUMENT_BYTES} bytes`),
  )
  try {
    return JSON.parse(body.toString('utf8'))
  } catch {
    throw new Error(`GET ${url} did not answer JSON`)
  }
}
