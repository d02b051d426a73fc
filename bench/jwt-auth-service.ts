/**
 * The JWT-checking service NGINX's auth_request calls in the reference row: what people glue together today.
 * Verifies the bearer token with jose on every request (no cache), answers 204 or 401.
 *   tsx bench/jwt-auth-service.ts <port> <jwks.json>
 */
import { readFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { createLocalJWKSet, jwtVerify } from 'jose'

const [port, jwksFile] = process.argv.slice(2)
const keys = createLocalJWKSet(JSON.parse(readFileSync(jwksFile!, 'utf8')))
createServer(async (request, response) => {
  const token = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1]
  try {
    if (token === undefined) throw new Error('no token')
    await jwtVerify(token, keys, { issuer: 'https://idp.bench', audience: 'flink' })
    response.writeHead(204).end()
  } catch {
    response.writeHead(401).end()
  }
}).listen(Number(port), '127.0.0.1')
