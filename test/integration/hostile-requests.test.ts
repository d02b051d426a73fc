import { once } from 'node:events'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { connect } from 'node:net'
import { request } from 'undici'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { type Standin, startStandin } from '../../src/standin/server.js'
import {
  type JwksServer,
  type SigningKey,
  signingKey,
  signToken,
  startJwksServer,
} from './support/jwks-server.js'
import { startProxy, type TestProxy } from './support/proxy.js'
import { RawConnection } from './support/raw-http.js'
import { fixture, KEYSTORE_PASSWORD } from './support/tls-client.js'

/**
 * The request-level findings of the hostile corpus, each through real sockets: secrets in the access log,
 * server paths in Flink's errors, identity headers for real names, a TLS client that never speaks, a
 * refused upload that must still read its answer, an unread Authorization scheme, Host and header-count
 * checks, and a multipart body that breaks off.
 */

let standin: Standin
const running: TestProxy[] = []
const servers: Server[] = []

async function proxyOf(upstreamUrl: string, overrides: Record<string, unknown> = {}): Promise<TestProxy> {
  const proxy = await startProxy(upstreamUrl, overrides)
  running.push(proxy)
  return proxy
}

beforeAll(async () => {
  standin = await startStandin()
})
beforeEach(() => standin.record.reset())
afterEach(async () => {
  await Promise.all(running.splice(0).map((proxy) => proxy.close(1_000)))
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))))
})
afterAll(async () => {
  await standin.close()
})

describe('the access log', () => {
  it.each([
    ['a bearer token in the query', '/overview?access_token=eyJhbGciOiJFUzI1NiJ9.SECRET.SIG', ['SECRET']],
    [
      "the OIDC callback's code and state",
      '/oauth2/callback?state=STATE-SECRET&code=CODE-SECRET&iss=https%3A%2F%2Fidp',
      ['STATE-SECRET', 'CODE-SECRET'],
    ],
    ['an id_token spelled in upper case', '/jobs?ID_TOKEN=IDT-SECRET&x=1', ['IDT-SECRET']],
  ])('never holds %s', async (_name, target, secrets) => {
    const proxy = await proxyOf(standin.url)
    const response = await request(`${proxy.proxyUrl}${target}`)
    await response.body.dump()
    const access = proxy.logs.find((line) => line.msg === 'request completed')!
    expect(String(access.url)).toContain('[redacted]')
    for (const secret of secrets) expect(proxy.rawLogs.join('\n')).not.toContain(secret)
  })
})

describe("Flink's error bodies for a non-admin", () => {
  it('lose file: URIs and Windows paths as they lose Unix paths', async () => {
    const flink = createServer((_request, response) => {
      response.writeHead(500, { 'content-type': 'application/json; charset=UTF-8' })
      response.end(
        JSON.stringify({
          errors: [
            'Could not load file:/opt/flink/usrlib/secret.jar, see C:\\flink\\log\\jobmanager.log and file:///srv/keys/k.pem',
          ],
        }),
      )
    })
    servers.push(flink)
    await once(flink.listen(0, '127.0.0.1'), 'listening')
    const proxy = await proxyOf(`http://127.0.0.1:${(flink.address() as AddressInfo).port}`, {
      auth: { anonymous: { roles: ['v'] } },
      authz: { roles: { v: 'viewer' } },
    })
    const response = await request(`${proxy.proxyUrl}/jobs/overview`)
    expect(response.statusCode).toBe(500)
    const body = (await response.body.json()) as { errors: string[] }
    expect(body.errors).toEqual(['Could not load secret.jar, see jobmanager.log and k.pem'])
  })
})

describe('identity headers', () => {
  let jwks: JwksServer
  let key: SigningKey
  let proxy: TestProxy
  beforeAll(async () => {
    key = await signingKey('k1', 'ES256')
    jwks = await startJwksServer([key.publicJwk])
  })
  afterAll(async () => {
    await jwks.close()
  })
  beforeEach(async () => {
    proxy = await proxyOf(standin.url, {
      auth: {
        jwt: {
          issuer: 'https://idp.example.com',
          audience: 'fg',
          jwksUri: jwks.jwksUri,
          rolesClaim: 'groups',
        },
      },
      authz: { roles: { viewers: 'viewer' } },
      upstream: { identityHeaders: {} },
    })
  })
  const asSubject = async (sub: string, groups: string[] = ['viewers']) => {
    const token = await signToken(key, { iss: 'https://idp.example.com', aud: 'fg', sub, groups })
    const response = await request(`${proxy.proxyUrl}/overview`, {
      headers: { authorization: `Bearer ${token}` },
    })
    await response.body.dump()
    return response
  }

  it.each([
    ['Łukasz', '%C5%81ukasz'],
    ['王小明', '%E7%8E%8B%E5%B0%8F%E6%98%8E'],
    ['dev😀', 'dev%F0%9F%98%80'],
    ['100% sure', '100%25%20sure'],
    ['alice@example.com', 'alice@example.com'],
  ])('carries the subject %s percent-encoded as UTF-8, never a 502', async (subject, header) => {
    const response = await asSubject(subject)
    expect(response.statusCode).toBe(200)
    expect(standin.record.last!.headers['x-forwarded-user']).toBe(header)
    expect(decodeURIComponent(header)).toBe(subject)
  })

  it('keeps a role with a comma one role', async () => {
    const response = await asSubject('alice', ['viewers', 'x,grp-admin'])
    expect(response.statusCode).toBe(200)
    const groups = String(standin.record.last!.headers['x-forwarded-groups'])
    expect(groups).toBe('viewers,x%2Cgrp-admin')
    expect(groups.split(',').map(decodeURIComponent)).toEqual(['viewers', 'x,grp-admin'])
  })

  it.each([
    ['CR LF', 'eve\r\nX-Admin: yes'],
    ['LF', 'eve\nx'],
    ['NUL', 'eve\u0000'],
  ])('refuses a subject with %s with 403, and nothing reaches Flink', async (_name, subject) => {
    const response = await asSubject(subject)
    expect(response.statusCode).toBe(403)
    expect(response.headers['x-flink-guard-error']).toBe('FG_ERR_AUTH_IDENTITY_UNSAFE')
    expect(standin.record.count).toBe(0)
  })
})

describe('connection limits', () => {
  it('closes a TLS connection that never sends its ClientHello at limits.handshakeTimeoutMs', async () => {
    const proxy = await proxyOf(standin.url, {
      tls: { keystore: fixture('rest.keystore'), keystorePassword: KEYSTORE_PASSWORD },
      limits: { handshakeTimeoutMs: 500 },
    })
    const started = Date.now()
    const silent = connect({ host: '127.0.0.1', port: Number(new URL(proxy.proxyUrl).port) })
    silent.on('error', () => {})
    await once(silent, 'close')
    const heldMs = Date.now() - started
    expect(heldMs).toBeGreaterThanOrEqual(400)
    expect(heldMs).toBeLessThan(5_000)
  })

  it('refuses connections past limits.maxConnectionsPerAddress with a 503 it can read, others served', async () => {
    const proxy = await proxyOf(standin.url, { limits: { maxConnectionsPerAddress: 3 } })
    const held = await Promise.all([1, 2, 3].map(() => RawConnection.open(proxy.proxyUrl)))
    const extra = await RawConnection.open(proxy.proxyUrl)
    const refused = await extra.readResponse()
    expect(refused.status).toBe(503)
    expect(refused.headers['x-flink-guard-error']).toBe('FG_ERR_REQUEST_TOO_MANY_CONNECTIONS')
    expect(refused.headers['retry-after']).toBe('1')
    expect(await extra.closedByPeer()).toBe(true)
    // The held ones still work, and a freed slot is usable again.
    held[0]!.write('GET /overview HTTP/1.1\r\nHost: x\r\n\r\n')
    expect((await held[0]!.readResponse()).status).toBe(200)
    held[1]!.close()
    await new Promise((resolve) => setTimeout(resolve, 100))
    const again = await RawConnection.open(proxy.proxyUrl)
    again.write('GET /overview HTTP/1.1\r\nHost: x\r\n\r\n')
    expect((await again.readResponse()).status).toBe(200)
    for (const connection of [...held, again]) connection.close()
  })

  it('refuses connections past limits.maxConnections in all', async () => {
    const proxy = await proxyOf(standin.url, { limits: { maxConnections: 2 } })
    const held = await Promise.all([1, 2].map(() => RawConnection.open(proxy.proxyUrl)))
    const extra = await RawConnection.open(proxy.proxyUrl)
    expect((await extra.readResponse()).status).toBe(503)
    for (const connection of held) connection.close()
  })
})

describe('a refused upload sent without waiting for 100-continue', () => {
  it('reads its 403, not a reset, while the body is still arriving', async () => {
    const proxy = await proxyOf(standin.url, {
      auth: { anonymous: { roles: ['v'] } },
      authz: { roles: { v: 'viewer' } },
    })
    const { port } = new URL(proxy.proxyUrl)
    const socket = connect({ host: '127.0.0.1', port: Number(port) })
    await once(socket, 'connect')
    let received = ''
    let error: NodeJS.ErrnoException | null = null
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1')
    })
    socket.on('error', (err) => {
      error = err
    })
    socket.write(
      'POST /jars/upload HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\n' +
        `Content-Length: ${1024 ** 3}\r\n\r\n`,
    )
    const chunk = Buffer.alloc(64 * 1024, 0x61)
    // Write as curl does, as fast as the socket takes it, until the answer or an error comes.
    const deadline = Date.now() + 10_000
    let sent = 0
    while (
      !received.includes('\r\n\r\n') &&
      error === null &&
      Date.now() < deadline &&
      sent < 512 * 1024 ** 2
    ) {
      if (!socket.write(chunk)) await Promise.race([once(socket, 'drain'), once(socket, 'close')])
      sent += chunk.length
    }
    await new Promise((resolve) => setTimeout(resolve, 200))
    socket.destroy()
    expect(error).toBeNull()
    expect(received).toMatch(/^HTTP\/1\.1 403 /)
    expect(received).toContain('FG_ERR_AUTHZ_PRESET_INSUFFICIENT')
    expect(standin.record.count).toBe(0)
  })
})

describe('an Authorization scheme no authenticator reads', () => {
  it.each(['Digest username="admin"', 'Negotiate YIIGhgYJKoZIhvcSAQICAQBuggZ1', 'Bearer'])(
    'is a 401 with anonymous access on, never served as anonymous: %s',
    async (authorization) => {
      const proxy = await proxyOf(standin.url)
      const response = await request(`${proxy.proxyUrl}/overview`, { headers: { authorization } })
      await response.body.dump()
      expect(response.statusCode).toBe(401)
      expect(response.headers['x-flink-guard-error']).toBe('FG_ERR_AUTH_UNSUPPORTED_SCHEME')
      expect(standin.record.count).toBe(0)
    },
  )
})

describe('Host and header count', () => {
  it.each([
    ['two different Host headers', 'Host: flink.example.com\r\nHost: evil.example.com\r\n'],
    ['the same Host twice', 'Host: x\r\nHost: x\r\n'],
    ['an empty Host', 'Host: \r\n'],
    ['a Host with a space', 'Host: a b\r\n'],
    ['a Host with a path', 'Host: x/y\r\n'],
    ['a Host with a bad port', 'Host: x:80a\r\n'],
    ['a Host with a userinfo', 'Host: u@x\r\n'],
  ])('refuses %s with 400, and nothing reaches Flink', async (_name, hostLines) => {
    const proxy = await proxyOf(standin.url)
    const connection = await RawConnection.open(proxy.proxyUrl)
    connection.write(`GET /overview HTTP/1.1\r\n${hostLines}\r\n`)
    const response = await connection.readResponse()
    connection.close()
    expect(response.status).toBe(400)
    expect(standin.record.count).toBe(0)
  })

  it.each([
    'flink.example.com',
    'flink.example.com:8443',
    '127.0.0.1:8081',
    '[::1]:8443',
    'xn--bcher-kva.example',
  ])('forwards a valid Host %s', async (host) => {
    const proxy = await proxyOf(standin.url)
    const connection = await RawConnection.open(proxy.proxyUrl)
    connection.write(`GET /overview HTTP/1.1\r\nHost: ${host}\r\n\r\n`)
    expect((await connection.readResponse()).status).toBe(200)
    connection.close()
  })

  it('refuses 2000 small headers (within the byte limit) with 431; 50 pass', async () => {
    const proxy = await proxyOf(standin.url)
    const send = async (count: number) => {
      const connection = await RawConnection.open(proxy.proxyUrl)
      const headers = Array.from({ length: count }, (_, i) => `x${i}: 1\r\n`).join('')
      connection.write(`GET /overview HTTP/1.1\r\nHost: x\r\n${headers}\r\n`)
      const response = await connection.readResponse()
      connection.close()
      return response
    }
    const refused = await send(2000)
    expect(refused.status).toBe(431)
    expect(refused.headers['x-flink-guard-error']).toBe('FG_ERR_REQUEST_HEADERS_TOO_LARGE')
    expect(standin.record.count).toBe(0)
    expect((await send(50)).status).toBe(200)
  })
})

describe('the stand-in', () => {
  it('answers a multipart upload without its closing boundary with 400 and keeps serving', async () => {
    const connection = await RawConnection.open(standin.url)
    const body =
      '--b\r\nContent-Disposition: form-data; name="jarfile"; filename="job.jar"\r\n' +
      'Content-Type: application/x-java-archive\r\n\r\nPK\u0003\u0004 not all of it'
    connection.write(
      'POST /jars/upload HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\n' +
        `Content-Length: ${Buffer.byteLength(body, 'latin1')}\r\n\r\n${body}`,
    )
    const response = await connection.readResponse()
    connection.close()
    expect(response.status).toBe(400)
    expect(JSON.parse(response.body)).toEqual({
      errors: [expect.stringContaining('Could not parse the multipart')],
    })
    const after = await request(`${standin.url}/overview`)
    await after.body.dump()
    expect(after.statusCode).toBe(200)
  })
})
