import { once } from 'node:events'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { type CryptoKey, exportJWK, generateKeyPair, type JWK, type JWTPayload, SignJWT } from 'jose'

/** A signing key as an IdP holds it: the private half signs test tokens, the public JWK goes in the JWKS. */
export interface SigningKey {
  readonly kid: string
  readonly alg: string
  readonly privateKey: CryptoKey
  readonly publicJwk: JWK
}

export async function signingKey(kid: string, alg = 'RS256'): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true })
  return { kid, alg, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } }
}

export interface TokenOptions {
  readonly header?: Record<string, unknown>
  /** Seconds from now; null leaves the claim out. */
  readonly expiresInSec?: number | null
  readonly notBeforeInSec?: number
}

export function signToken(key: SigningKey, claims: JWTPayload, options: TokenOptions = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000)
  const jwt = new SignJWT(claims)
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT', ...options.header })
    .setIssuedAt(now)
  const expiresIn = options.expiresInSec === undefined ? 300 : options.expiresInSec
  if (expiresIn !== null) jwt.setExpirationTime(now + expiresIn)
  if (options.notBeforeInSec !== undefined) jwt.setNotBefore(now + options.notBeforeInSec)
  return jwt.sign(key.privateKey)
}

/**
 * A real IdP key endpoint on 127.0.0.1: serves `/jwks.json` and an OIDC discovery document, counts the
 * requests it gets, and can be told to fail (503) to play an IdP outage.
 */
export interface JwksServer {
  readonly url: string
  readonly jwksUri: string
  /** Requests to /jwks.json so far. */
  readonly hits: number
  readonly discoveryHits: number
  keys: JWK[]
  down: boolean
  /** What discovery claims as issuer (default: `url`). */
  discoveryIssuer: string | undefined
  close(): Promise<void>
}

/** `port` (default: a free one) lets a test bring the endpoint back where the proxy looks for it. */
export async function startJwksServer(keys: JWK[] = [], port = 0): Promise<JwksServer> {
  let hits = 0
  let discoveryHits = 0
  const state = { keys, down: false, discoveryIssuer: undefined as string | undefined }
  const server: Server = createServer((request, response) => {
    const send = (status: number, body: unknown) => {
      response.writeHead(status, { 'content-type': 'application/json' })
      response.end(JSON.stringify(body))
    }
    if (request.url === '/jwks.json') {
      hits += 1
      if (state.down) return send(503, { error: 'down' })
      return send(200, { keys: state.keys })
    }
    if (request.url === '/.well-known/openid-configuration') {
      discoveryHits += 1
      if (state.down) return send(503, { error: 'down' })
      return send(200, { issuer: state.discoveryIssuer ?? url, jwks_uri: `${url}/jwks.json` })
    }
    send(404, { error: 'not found' })
  })
  server.listen(port, '127.0.0.1')
  await once(server, 'listening')
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    url,
    jwksUri: `${url}/jwks.json`,
    get hits() {
      return hits
    },
    get discoveryHits() {
      return discoveryHits
    },
    get keys() {
      return state.keys
    },
    set keys(value: JWK[]) {
      state.keys = value
    },
    get down() {
      return state.down
    },
    set down(value: boolean) {
      state.down = value
    },
    get discoveryIssuer() {
      return state.discoveryIssuer
    },
    set discoveryIssuer(value: string | undefined) {
      state.discoveryIssuer = value
    },
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
