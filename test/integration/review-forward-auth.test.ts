import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RunningServer } from '../../src/server.js'
import { type Standin, startStandin } from '../../src/standin/server.js'
import { basicAuth, htpasswdFor, startGateway } from './support/gateway.js'

/**
 * Review findings (branch `review`) on forward-auth over real sockets. Each test states the behaviour a fix
 * must have: they fail on main.
 */
let prod: Standin
let dev: Standin
let gateway: RunningServer
const ALICE = basicAuth('alice')

beforeAll(async () => {
  ;[prod, dev] = await Promise.all([startStandin(), startStandin()])
  gateway = await startGateway({
    auth: { basic: { htpasswd: htpasswdFor(['alice']), users: { alice: ['team-a'] } } },
    // As docs/forward-auth.md advises: the NGINX in front is a trusted proxy.
    authz: { trustedProxies: ['127.0.0.0/8'] },
    forwardAuth: { enabled: true },
    clusters: [
      {
        name: 'prod',
        upstream: { url: prod.url },
        pathPrefix: false,
        hosts: ['prod.flink.test'],
        authz: { roles: { 'team-a': 'viewer' } },
      },
      {
        name: 'dev',
        upstream: { url: dev.url },
        pathPrefix: false,
        hosts: ['dev.flink.test'],
        authz: { roles: { 'team-a': 'admin' } },
      },
    ],
  })
})
afterAll(async () => {
  await gateway.close(1_000)
  await Promise.all([prod.close(), dev.close()])
})

/** The auth_request subrequest of bench/nginx.ts: client headers, then NGINX's own X-Original-*, Host, XFF. */
async function nginxCheck(method: string, uri: string, clientHeaders: Record<string, string>) {
  const response = await request(`${gateway.proxyUrl}/_flink-guard/auth`, {
    headers: {
      ...clientHeaders,
      'x-original-method': method,
      'x-original-uri': uri,
      host: 'prod.flink.test',
      'x-forwarded-for': '192.0.2.7',
    },
  })
  await response.body.dump()
  return response.statusCode
}

describe('forward-auth checks', () => {
  // NGINX passes a client's X-Forwarded-Host on to the check; with NGINX trusted, Fastify's request.hostname
  // reads it, so the check is judged by dev's policy while NGINX forwards to prod's Flink.
  it("judges a check by the Host NGINX names, not the client's X-Forwarded-Host", async () => {
    const viewerOnProd = await nginxCheck('DELETE', '/cluster', { authorization: ALICE })
    expect(viewerOnProd).toBe(403)
    const spoofed = await nginxCheck('DELETE', '/cluster', {
      authorization: ALICE,
      'x-forwarded-host': 'dev.flink.test',
    })
    expect(spoofed).toBe(403)
  })
  // A described preflight is answered 204 before authentication; NGINX's auth_request allows any 2xx, so an
  // anonymous OPTIONS reaches Flink.
  it('does not answer 2xx to a check that describes an anonymous CORS preflight', async () => {
    const status = await nginxCheck('OPTIONS', '/jars/x.jar/run', {
      origin: 'https://evil.example',
      'access-control-request-method': 'POST',
    })
    expect(status === 200 || status === 204).toBe(false)
  })
})
