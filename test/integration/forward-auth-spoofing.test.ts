import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RunningServer } from '../../src/server.js'
import { type Standin, startStandin } from '../../src/standin/server.js'
import { basicAuth, htpasswdFor, startGateway } from './support/gateway.js'

/**
 * Forward-auth checks a client shapes through the front proxy (a security review's findings), over real
 * sockets: a client's X-Forwarded-Host must not pick the cluster, and a described preflight must not be
 * answered 2xx, which auth_request takes as "allowed".
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
async function nginxCheck(
  method: string,
  uri: string,
  clientHeaders: Record<string, string>,
  host = 'prod.flink.test',
) {
  const response = await request(`${gateway.proxyUrl}/_flink-guard/auth`, {
    headers: {
      ...clientHeaders,
      'x-original-method': method,
      'x-original-uri': uri,
      host,
      'x-forwarded-for': '192.0.2.7',
    },
  })
  await response.body.dump()
  return response.statusCode
}

/** ingress-nginx's auth-url check: the service's own Host, the client's URL in X-Original-URL. */
async function ingressCheck(method: string, url: string, clientHeaders: Record<string, string>) {
  const response = await request(`${gateway.proxyUrl}/_flink-guard/auth`, {
    headers: {
      ...clientHeaders,
      'x-original-method': method,
      'x-original-url': url,
      host: 'flink-guard.flink.svc',
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
    // The same check named for dev is dev's to judge: the host does choose the cluster.
    expect(await nginxCheck('DELETE', '/cluster', { authorization: ALICE }, 'dev.flink.test:443')).toBe(200)
  })
  it("takes an ingress-nginx check's host from X-Original-URL", async () => {
    expect(await ingressCheck('DELETE', 'https://prod.flink.test/cluster', { authorization: ALICE })).toBe(
      403,
    )
    const dev = await ingressCheck('DELETE', 'https://dev.flink.test/cluster', {
      authorization: ALICE,
      'x-forwarded-host': 'prod.flink.test',
    })
    expect(dev).toBe(200)
  })
  // A described preflight is answered 204 before authentication; NGINX's auth_request allows any 2xx, so an
  // anonymous OPTIONS reaches Flink.
  it('does not answer 2xx to a check that describes an anonymous CORS preflight', async () => {
    const status = await nginxCheck('OPTIONS', '/jars/x.jar/run', {
      origin: 'https://evil.example',
      'access-control-request-method': 'POST',
    })
    expect(status).toBe(401)
  })
})
