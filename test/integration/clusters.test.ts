import { FormData, request } from 'undici'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import type { RunningServer } from '../../src/server.js'
import { type Standin, startStandin } from '../../src/standin/server.js'
import { basicAuth, htpasswdFor, startGateway } from './support/gateway.js'
import { RawConnection } from './support/raw-http.js'

/**
 * One gateway, three stand-in Flinks: `a` and `b` by path prefix (and `a` also by host name), `hosted` by host
 * name only. alice is viewer on a and deployer on b; the top level maps nobody.
 */

let a: Standin
let b: Standin
let hosted: Standin
let gateway: RunningServer
const ALICE = basicAuth('alice')

beforeAll(async () => {
  ;[a, b, hosted] = await Promise.all([startStandin(), startStandin(), startStandin()])
  gateway = await startGateway({
    auth: { basic: { htpasswd: htpasswdFor(['alice']), users: { alice: ['team-a', 'team-b'] } } },
    clusters: [
      {
        name: 'a',
        upstream: { url: a.url },
        hosts: ['a.flink.test'],
        authz: { roles: { 'team-a': 'viewer' } },
      },
      { name: 'b', upstream: { url: b.url }, authz: { roles: { 'team-b': 'deployer' } } },
      {
        name: 'hosted',
        upstream: { url: hosted.url },
        pathPrefix: false,
        hosts: ['Hosted.Flink.Test'],
        authz: { roles: { 'team-a': 'admin' } },
      },
    ],
  })
})
afterAll(async () => {
  await gateway.close(1_000)
  await Promise.all([a.close(), b.close(), hosted.close()])
})
beforeEach(() => {
  for (const standin of [a, b, hosted]) standin.record.reset()
})

/** A request as sent, byte for byte (undici would not send some of these targets). */
async function raw(
  target: string,
  host = '127.0.0.1',
): Promise<{ status: number; headers: Record<string, string>; body: string }> {
  const connection = await RawConnection.open(gateway.proxyUrl)
  connection.write(
    `GET ${target} HTTP/1.1\r\nHost: ${host}\r\nAuthorization: ${ALICE}\r\nConnection: close\r\n\r\n`,
  )
  const response = await connection.readResponse()
  connection.close()
  return response
}

const received = () => ({ a: a.record.count, b: b.record.count, hosted: hosted.record.count })

describe('clusters by path prefix', () => {
  it('forwards /clusters/<name>/rest to that cluster alone, as /rest', async () => {
    const response = await raw('/clusters/a/v1/jobs/overview?x=1')
    expect(response.status).toBe(200)
    expect(a.record.last?.url).toBe('/v1/jobs/overview?x=1')
    expect(received()).toEqual({ a: 1, b: 0, hosted: 0 })
    await raw('/clusters/b/overview')
    expect(b.record.last?.url).toBe('/overview')
    expect(received()).toEqual({ a: 1, b: 1, hosted: 0 })
  })

  it('serves the dashboard at the prefix with a slash, and redirects the bare prefix to it', async () => {
    expect((await raw('/clusters/a/')).status).toBe(200)
    expect(a.record.last?.url).toBe('/')
    const bare = await raw('/clusters/a?lang=en')
    expect(bare.status).toBe(308)
    expect(bare.headers.location).toBe('/clusters/a/?lang=en')
    expect((await raw('/clusters/a')).headers.location).toBe('/clusters/a/')
    expect(received()).toEqual({ a: 1, b: 0, hosted: 0 })
  })

  // Every spelling that could climb from a to b (or name a cluster in disguise) is refused before any cluster
  // is chosen: the canonical screening runs on the whole path first (authz/canonical-path.ts).
  it.each([
    ['/clusters/a/../b/overview', 400, 'FG_ERR_PATH_DOT_SEGMENT'],
    ['/clusters/a/%2e%2e/b/overview', 400, 'FG_ERR_PATH_DOT_SEGMENT'],
    ['/clusters/a/%2E%2E/b/overview', 400, 'FG_ERR_PATH_DOT_SEGMENT'],
    ['/clusters/a/.%2e/b/overview', 400, 'FG_ERR_PATH_DOT_SEGMENT'],
    ['/clusters/a/..%2fb/overview', 400, 'FG_ERR_PATH_ENCODED_SEPARATOR'],
    ['/clusters/a%2f..%2fb/overview', 400, 'FG_ERR_PATH_ENCODED_SEPARATOR'],
    ['/clusters/a%2F..%2Fb/overview', 400, 'FG_ERR_PATH_ENCODED_SEPARATOR'],
    ['/clusters/a/%252e%252e/b/overview', 400, 'FG_ERR_PATH_DOUBLE_ENCODED'],
    ['/clusters/a\\..\\b/overview', 400, 'FG_ERR_PATH_BACKSLASH'],
    ['/clusters/a%5c..%5cb/overview', 400, 'FG_ERR_PATH_ENCODED_SEPARATOR'],
    ['/clusters/a//../b/overview', 400, 'FG_ERR_PATH_EMPTY_SEGMENT'],
    ['/clusters/a/./overview', 400, 'FG_ERR_PATH_DOT_SEGMENT'],
    ['/clusters/../clusters/b/overview', 400, 'FG_ERR_PATH_DOT_SEGMENT'],
    ['/clusters/a;b/overview', 400, 'FG_ERR_PATH_MATRIX_PARAM'],
    ['/clusters/a%00/overview', 400, 'FG_ERR_PATH_CONTROL_CHAR'],
    ['/clusters/a//overview', 400, 'FG_ERR_PATH_EMPTY_SEGMENT'],
    ['/clusters/%61/overview', 404, 'FG_ERR_CLUSTER_UNKNOWN'],
    ['/clusters/A/overview', 404, 'FG_ERR_CLUSTER_UNKNOWN'],
    ['/clusters/a+/overview', 404, 'FG_ERR_CLUSTER_UNKNOWN'],
    ['/clusters/hosted/overview', 404, 'FG_ERR_CLUSTER_UNKNOWN'],
    ['/clusters/zzz/overview', 404, 'FG_ERR_CLUSTER_UNKNOWN'],
    ['/overview', 404, 'FG_ERR_CLUSTER_UNKNOWN'],
    ['/clusters/', 404, 'FG_ERR_CLUSTER_UNKNOWN'],
    ['/CLUSTERS/a/overview', 404, 'FG_ERR_CLUSTER_UNKNOWN'],
    ['/v1/clusters/a/overview', 404, 'FG_ERR_CLUSTER_UNKNOWN'],
  ])('refuses %s with %i %s and reaches no cluster', async (target, status, code) => {
    const response = await raw(target)
    expect(response.status).toBe(status)
    expect(response.headers['x-flink-guard-error']).toBe(code)
    expect(JSON.parse(response.body)).toEqual({ errors: [expect.any(String)] })
    expect(received()).toEqual({ a: 0, b: 0, hosted: 0 })
  })

  it("authorises by the cluster's own roles: alice's upload is refused on a and accepted on b", async () => {
    const upload = async (cluster: string) => {
      const form = new FormData()
      form.set('jarfile', new Blob([Buffer.from('PK\x03\x04 not really a jar')]), 'job.jar')
      return request(`${gateway.proxyUrl}/clusters/${cluster}/jars/upload`, {
        method: 'POST',
        headers: { authorization: ALICE },
        body: form,
      })
    }
    const onA = await upload('a')
    expect(onA.statusCode).toBe(403)
    expect(onA.headers['x-flink-guard-error']).toBe('FG_ERR_AUTHZ_PRESET_INSUFFICIENT')
    await onA.body.dump()
    const onB = await upload('b')
    expect(onB.statusCode).toBe(200)
    expect(await onB.body.json()).toMatchObject({ status: 'success' })
    expect(a.record.uploads).toHaveLength(0)
    expect(b.record.uploads).toHaveLength(1)
  })

  it('authenticates before it says whether a cluster exists', async () => {
    const response = await request(`${gateway.proxyUrl}/clusters/zzz/overview`)
    expect(response.statusCode).toBe(401)
    await response.body.dump()
  })
})

describe('clusters by host name', () => {
  it('routes a claimed host to its cluster whatever the case, with the path untouched', async () => {
    expect((await raw('/overview', 'HOSTED.flink.test:8443')).status).toBe(200)
    expect(hosted.record.last?.url).toBe('/overview')
    expect((await raw('/overview', 'a.flink.test.')).status).toBe(200)
    expect(received()).toEqual({ a: 1, b: 0, hosted: 1 })
  })

  it("never lets a claimed host's origin reach another cluster by prefix", async () => {
    // The dashboard on a.flink.test runs on its own origin; a path naming b stays on a (where Flink has no
    // such route: a GET is the dashboard's static-file 404), so a's pages cannot use the user's credentials on b.
    const response = await raw('/clusters/b/jars', 'a.flink.test')
    expect(response.status).toBe(404)
    expect(a.record.last?.url).toBe('/clusters/b/jars')
    expect(received()).toEqual({ a: 1, b: 0, hosted: 0 })
  })

  it('routes an unclaimed host by prefix only', async () => {
    expect((await raw('/overview', 'b.flink.test')).status).toBe(404)
    expect((await raw('/clusters/b/overview', 'b.flink.test')).status).toBe(200)
    expect(received()).toEqual({ a: 0, b: 1, hosted: 0 })
  })
})

describe("Flink's own address in its answers, rebased onto the gateway's", () => {
  const ZERO_JOB = '0'.repeat(32)
  const port = () => new URL(gateway.proxyUrl).port
  const json = async (target: string, host?: string) => JSON.parse((await raw(target, host)).body)

  it("gives /jars `address` and the log-url `url`s the cluster prefix, never the stand-in's address", async () => {
    // The gateway's address is the one the request was sent to (its Host header, port included).
    const host = `127.0.0.1:${port()}`
    const base = `http://${host}/clusters/b`
    expect((await json('/clusters/b/jars', host)).address).toBe(base)
    expect((await json('/clusters/b/v1/jars', host)).address).toBe(base)
    expect(await json(`/clusters/b/jobs/${ZERO_JOB}/jobmanager/log-url`, host)).toEqual({
      url: `${base}/#/job-manager/logs`,
    })
    expect(await json(`/clusters/b/jobs/${ZERO_JOB}/taskmanagers/tm-1/log-url`, host)).toEqual({
      url: `${base}/#/task-manager/tm-1/logs`,
    })
    // What b itself said: its own address, which the client must not be sent to.
    const direct = await request(`${b.url}/jars`)
    expect(((await direct.body.json()) as { address: string }).address).toBe(b.url)
  })

  it('gives a cluster reached by host name that host and port, with no prefix', async () => {
    expect((await json('/jars', 'hosted.flink.test:8443')).address).toBe('http://hosted.flink.test:8443')
    expect(await json(`/jobs/${ZERO_JOB}/jobmanager/log-url`, 'a.flink.test')).toEqual({
      url: 'http://a.flink.test/#/job-manager/logs',
    })
  })

  it('believes X-Forwarded-Host and -Proto only from a trusted proxy', async () => {
    const forwarded = { 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'https' }
    const untrusted = await request(`${gateway.proxyUrl}/clusters/b/jars`, {
      headers: { authorization: ALICE, ...forwarded },
    })
    expect(((await untrusted.body.json()) as { address: string }).address).toBe(
      `http://127.0.0.1:${port()}/clusters/b`,
    )
    const behindProxy = await startGateway({
      auth: { anonymous: { roles: ['deployers'] } },
      authz: { roles: { deployers: 'deployer' }, trustedProxies: ['127.0.0.1'] },
      clusters: [{ name: 'b', upstream: { url: b.url } }],
    })
    try {
      const trusted = await request(`${behindProxy.proxyUrl}/clusters/b/jars`, {
        headers: { 'x-forwarded-host': 'flink.example.com', 'x-forwarded-proto': 'https' },
      })
      expect(((await trusted.body.json()) as { address: string }).address).toBe(
        'https://flink.example.com/clusters/b',
      )
    } finally {
      await behindProxy.close(1_000)
    }
  })

  it('leaves the addresses a client never dials as Flink reports them', async () => {
    const addresses = (answer: { taskmanagers: Record<string, unknown>[] }) =>
      answer.taskmanagers.map(({ path, dataPort, jmxPort }) => ({ path, dataPort, jmxPort }))
    const direct = (await (await request(`${b.url}/taskmanagers`)).body.json()) as never
    expect(addresses(await json('/clusters/b/taskmanagers'))).toEqual(addresses(direct))
    expect(addresses(direct)[0]!.path).toMatch(/^pekko\.tcp:\/\/flink@127\.0\.0\.1:/)
  })
})

describe('one cluster down', () => {
  it('fails only its own routes, its own probe and its own metric; the gateway stays ready', async () => {
    const doomed = await startStandin()
    const survivor = await startStandin()
    const pair = await startGateway({
      auth: { anonymous: { roles: ['ops'] } },
      authz: { roles: { ops: 'viewer' } },
      clusters: [
        { name: 'doomed', upstream: { url: doomed.url } },
        { name: 'survivor', upstream: { url: survivor.url } },
      ],
    })
    try {
      const first = await request(`${pair.proxyUrl}/clusters/doomed/overview`)
      expect([first.statusCode, first.headers['x-flink-guard-error']]).toEqual([200, undefined])
      await first.body.dump()
      await doomed.close()
      const down = await request(`${pair.proxyUrl}/clusters/doomed/overview`)
      expect(down.statusCode).toBe(503)
      expect(down.headers['x-flink-guard-error']).toBe('FG_ERR_UPSTREAM_UNAVAILABLE')
      await down.body.dump()
      const up = await request(`${pair.proxyUrl}/clusters/survivor/overview`)
      expect(up.statusCode).toBe(200)
      await up.body.dump()

      const ready = await request(`${pair.adminUrl}/readyz`)
      expect(ready.statusCode).toBe(200)
      await ready.body.dump()
      const doomedProbe = await request(`${pair.adminUrl}/readyz/clusters/doomed`)
      expect(doomedProbe.statusCode).toBe(503)
      await doomedProbe.body.dump()
      const survivorProbe = await request(`${pair.adminUrl}/readyz/clusters/survivor`)
      expect(await survivorProbe.body.json()).toEqual({ status: 'ready', cluster: 'survivor' })
      const unknownProbe = await request(`${pair.adminUrl}/readyz/clusters/constructor`)
      expect(unknownProbe.statusCode).toBe(404)
      await unknownProbe.body.dump()

      const metrics = await (await request(`${pair.adminUrl}/metrics`)).body.text()
      expect(metrics).toMatch(/^flink_guard_cluster_up\{cluster="doomed"\} 0$/m)
      expect(metrics).toMatch(/^flink_guard_cluster_up\{cluster="survivor"\} 1$/m)
      expect(metrics).toMatch(/^flink_guard_cluster_requests_total\{cluster="doomed",status="503"\} 1$/m)
      expect(metrics).toMatch(/^flink_guard_cluster_requests_total\{cluster="survivor",status="200"\} 1$/m)
      // Scanning unknown cluster names adds no series.
      await request(`${pair.proxyUrl}/clusters/scan-${Date.now()}/overview`).then((r) => r.body.dump())
      const after = await (await request(`${pair.adminUrl}/metrics`)).body.text()
      expect(after.match(/^flink_guard_cluster_requests_total\{/gm)).toHaveLength(3)
    } finally {
      await pair.close(1_000)
      await survivor.close()
    }
  })
})

describe('who-am-I', () => {
  const whoAmI = (path: string, headers: Record<string, string> = { authorization: ALICE }) =>
    request(`${gateway.proxyUrl}${path}`, { headers })

  it("answers the caller's subject, roles and the preset they buy on the cluster the path or host reaches", async () => {
    const onB = await whoAmI('/clusters/b/_flink-guard/whoami')
    expect(onB.statusCode).toBe(200)
    expect(onB.headers['cache-control']).toBe('no-store')
    expect(await onB.body.json()).toEqual({
      subject: 'alice',
      method: 'basic',
      roles: ['team-a', 'team-b'],
      cluster: 'b',
      preset: 'deployer',
      profiles: [],
      signOutPath: null,
    })
    const onA = await whoAmI('/clusters/a/_flink-guard/whoami')
    expect(await onA.body.json()).toMatchObject({ cluster: 'a', preset: 'viewer' })
    const hostedBody = await whoAmI('/_flink-guard/whoami', {
      authorization: ALICE,
      host: 'hosted.flink.test',
    })
    expect(await hostedBody.body.json()).toMatchObject({ cluster: 'hosted', preset: 'admin' })
    expect(received()).toEqual({ a: 0, b: 0, hosted: 0 })
  })

  it('refuses a caller without credentials or with a wrong password, as a Flink route would, and asks no Flink', async () => {
    const none = await whoAmI('/clusters/b/_flink-guard/whoami', {})
    expect(none.statusCode).toBe(401)
    expect(none.headers['www-authenticate']).toMatch(/^Basic /)
    expect(await none.body.json()).toHaveProperty('errors')
    const wrong = await whoAmI('/clusters/b/_flink-guard/whoami', {
      authorization: basicAuth('alice', 'not-the-password'),
    })
    expect(wrong.statusCode).toBe(401)
    expect(JSON.stringify(await wrong.body.json())).not.toContain('team-b')
    expect(received()).toEqual({ a: 0, b: 0, hosted: 0 })
  })

  it('names no cluster the gateway does not have, and changes nothing on a POST', async () => {
    const unknown = await whoAmI('/clusters/nope/_flink-guard/whoami')
    expect(unknown.statusCode).toBe(404)
    await unknown.body.dump()
    const post = await request(`${gateway.proxyUrl}/clusters/b/_flink-guard/whoami`, {
      method: 'POST',
      headers: { authorization: ALICE },
    })
    expect(post.statusCode).toBeGreaterThanOrEqual(400)
    await post.body.dump()
    expect(received()).toEqual({ a: 0, b: 0, hosted: 0 })
  })
})
