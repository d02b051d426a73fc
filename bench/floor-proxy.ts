/**
 * The floor of the stack, for the benchmark's floor rows: the least a TLS forward can cost on Node. No header
 * policy, no authentication, no logging, no metrics: only an HTTPS server (bare Node, or Fastify) handing each
 * request to an undici pool with stream(), as flink-guard does. What flink-guard costs above these rows is its
 * own; what these cost above NGINX is Node's, Fastify's and undici's.
 * bench/run.ts compiles it to bench/results/tmp/floor-proxy.mjs and runs it with plain node:
 *   node floor-proxy.mjs <node|fastify> <port> <upstream origin> <cert.pem> <key.pem> [no-tickets]
 * no-tickets turns TLS session tickets off, as flink-guard's `tls.sessionTickets: false` does.
 */
import { constants } from 'node:crypto'
import { readFileSync } from 'node:fs'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { createServer } from 'node:https'
import Fastify from 'fastify'
import { Pool } from 'undici'

const [kind, port, upstream, certFile, keyFile, tickets] = process.argv.slice(2)
const tls = {
  cert: readFileSync(certFile!),
  key: readFileSync(keyFile!),
  ...(tickets === 'no-tickets' ? { secureOptions: constants.SSL_OP_NO_TICKET } : {}),
}
const pool = new Pool(upstream!, { connections: 128, pipelining: 1 })

/** A client leaving mid-answer (wrk stops with requests in flight) fails the stream(): that response is closed. */
async function forward(request: IncomingMessage, response: ServerResponse): Promise<void> {
  await pool
    .stream(
      { path: request.url!, method: 'GET', headers: { 'x-forwarded-for': request.socket.remoteAddress! } },
      ({ statusCode, headers }) => {
        // Flink's length goes back with its type, as flink-guard passes them on (no chunked encoding).
        response.writeHead(statusCode, {
          'content-type': headers['content-type'] as string,
          'content-length': headers['content-length'] as string,
        })
        return response
      },
    )
    .catch(() => response.destroy())
}

if (kind === 'node') {
  createServer(tls, (request, response) => void forward(request, response)).listen(Number(port), '127.0.0.1')
} else {
  const app = Fastify({ https: tls })
  app.get('/*', async (request, reply) => {
    reply.hijack()
    await forward(request.raw, reply.raw)
  })
  await app.listen({ port: Number(port), host: '127.0.0.1' })
}
// Exit on SIGTERM rather than be killed by it, so a --cpu-prof profile gets written.
process.on('SIGTERM', () => process.exit(0))
