import { createHash, randomBytes } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { Readable } from 'node:stream'
import { request } from 'undici'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { validateConfig } from '../../src/config/load.js'
import { type Standin, startStandin } from '../../src/standin/server.js'
import { assertBuilt, startCli, writeConfig } from './support/cli.js'
import { eventually } from './support/eventually.js'
import { startProxy, type TestProxy } from './support/proxy.js'

const MIB = 1024 * 1024
const STARTED = /"msg":"flink-guard started"/

/** Anonymous callers hold the role `anyone`, mapped to `preset`: the reloads below change that mapping. */
const anonymousAs = (preset: string) => ({
  auth: { anonymous: { roles: ['anyone'] } },
  authz: { roles: { anyone: preset } },
})

/**
 * A multipart jar upload whose body is held back after its first half until `release()` is called, so a
 * reload can land while it streams. `sha256` is the jar part's, as the stand-in records it.
 */
function heldUpload(url: string, jarBytes: number) {
  const boundary = `----reload${randomBytes(6).toString('hex')}`
  // A jar starts as a ZIP file does (limits.uploads.jarFilesOnly checks it).
  const jar = Buffer.concat([Buffer.from('PK\u0003\u0004'), randomBytes(jarBytes - 4)])
  const head = `--${boundary}\r\nContent-Disposition: form-data; name="jarfile"; filename="held.jar"\r\nContent-Type: application/java-archive\r\n\r\n`
  let release!: () => void
  const released = new Promise<void>((resolve) => {
    release = resolve
  })
  let firstHalfTaken!: () => void
  const halfway = new Promise<void>((resolve) => {
    firstHalfTaken = resolve
  })
  async function* body() {
    yield Buffer.from(head)
    const half = jarBytes / 2
    for (let offset = 0; offset < half; offset += 64 * 1024) yield jar.subarray(offset, offset + 64 * 1024)
    firstHalfTaken()
    await released
    for (let offset = half; offset < jarBytes; offset += 64 * 1024) {
      yield jar.subarray(offset, offset + 64 * 1024)
    }
    yield Buffer.from(`\r\n--${boundary}--\r\n`)
  }
  const response = request(`${url}/jars/upload`, {
    method: 'POST',
    headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
    body: Readable.from(body()),
  })
  return { response, halfway, release, sha256: createHash('sha256').update(jar).digest('hex') }
}

async function statusOf(url: string, method: 'GET' | 'POST' = 'GET'): Promise<number> {
  const response = await request(url, { method })
  await response.body.dump()
  return response.statusCode
}

describe('config reload in a running proxy', () => {
  let standin: Standin
  let proxy: TestProxy
  const configAs =
    (preset: string, extra: Record<string, unknown> = {}) =>
    () =>
      validateConfig(
        {
          listen: { port: 0 },
          admin: { port: 0 },
          upstream: { url: standin.url },
          ...anonymousAs(preset),
          ...extra,
        },
        'reloaded',
        {},
      )
  beforeAll(async () => {
    standin = await startStandin()
  })
  afterEach(async () => {
    await proxy.close(1_000)
  })
  afterAll(async () => {
    await standin.close()
  })

  it('a demoted role applies to the next request, while an upload streaming across the reload finishes on the old config', async () => {
    proxy = await startProxy(standin.url, anonymousAs('deployer'))
    standin.record.reset()
    const upload = heldUpload(proxy.proxyUrl, 4 * MIB)
    await upload.halfway
    await eventually(() => proxy.inFlight()[0] === 1)

    expect(await proxy.reloadConfig(configAs('viewer'))).toBe(true)
    // The upload holds the old pipeline open; new requests run on the new one.
    expect(proxy.inFlight()).toEqual([0, 1])
    const scrape = async () => (await (await request(`${proxy.adminUrl}/metrics`)).body.text()).split('\n')
    expect(await scrape()).toContain('flink_guard_requests_in_flight 1')
    const refused = await request(`${proxy.proxyUrl}/jars/upload`, { method: 'POST', body: 'x' })
    expect(refused.statusCode).toBe(403)
    expect(refused.headers['x-flink-guard-error']).toBe('FG_ERR_AUTHZ_PRESET_INSUFFICIENT')
    await refused.body.dump()
    expect(await statusOf(`${proxy.proxyUrl}/overview`)).toBe(200)

    upload.release()
    const done = await upload.response
    expect(done.statusCode).toBe(200)
    expect(await done.body.json()).toMatchObject({ status: 'success' })
    expect(standin.record.uploads.map((recorded) => recorded.sha256)).toEqual([upload.sha256])
    // The last request out closed the old pipeline.
    await eventually(() => proxy.inFlight().length === 1)
    expect(proxy.inFlight()).toEqual([0])
    expect(await scrape()).toContain('flink_guard_requests_in_flight 0')
  })

  it('a promoted role lets the next upload through', async () => {
    proxy = await startProxy(standin.url, anonymousAs('viewer'))
    expect(await statusOf(`${proxy.proxyUrl}/jars/upload`, 'POST')).toBe(403)
    expect(await proxy.reloadConfig(configAs('deployer'))).toBe(true)
    const upload = heldUpload(proxy.proxyUrl, 2 * MIB)
    upload.release()
    expect((await upload.response).statusCode).toBe(200)
  })

  it('a reload adds a cluster with its own policy and readiness; one removed answers as unknown', async () => {
    const second = await startStandin()
    try {
      proxy = await startProxy(standin.url, anonymousAs('viewer'))
      expect(await statusOf(`${proxy.adminUrl}/readyz/clusters/etl`)).toBe(404)
      const withEtl = configAs('viewer', {
        clusters: [{ name: 'etl', upstream: { url: second.url }, authz: { roles: { anyone: 'deployer' } } }],
      })
      expect(await proxy.reloadConfig(withEtl)).toBe(true)
      second.record.reset()
      expect(await statusOf(`${proxy.proxyUrl}/clusters/etl/overview`)).toBe(200)
      expect(second.record.requests.map((recorded) => recorded.url)).toEqual(['/overview'])
      // The cluster's policy, not the top-level one: a deployer there, a viewer on the default upstream.
      const upload = heldUpload(`${proxy.proxyUrl}/clusters/etl`, 1 * MIB)
      upload.release()
      expect((await upload.response).statusCode).toBe(200)
      expect(await statusOf(`${proxy.proxyUrl}/jars/upload`, 'POST')).toBe(403)
      expect(await statusOf(`${proxy.adminUrl}/readyz/clusters/etl`)).toBe(200)

      expect(
        await proxy.reloadConfig(
          configAs('viewer', { clusters: [{ name: 'other', upstream: { url: second.url } }] }),
        ),
      ).toBe(true)
      const gone = await request(`${proxy.proxyUrl}/clusters/etl/overview`)
      await gone.body.dump()
      expect(gone.headers['x-flink-guard-error']).toBe('FG_ERR_CLUSTER_UNKNOWN')
      expect(await statusOf(`${proxy.adminUrl}/readyz/clusters/etl`)).toBe(404)
    } finally {
      await second.close()
    }
  })

  it.each([
    ['an invalid config', configAs('superuser'), 'the new config is invalid', /"authz\.roles\.anyone"/],
    [
      'a config that changes a connection cap the listener enforces',
      configAs('viewer', { limits: { maxConnections: 7 } }),
      'the new config changes keys that take a restart',
      /"limits\.maxConnections" changed: restart flink-guard to change it/,
    ],
    [
      'a config that changes a listener key',
      configAs('viewer', { admin: { port: 0, host: '0.0.0.0' } }),
      'the new config changes keys that take a restart',
      /"admin" changed: restart flink-guard to change it/,
    ],
    [
      'a config whose htpasswd file is missing',
      configAs('viewer', {
        auth: { anonymous: { roles: ['anyone'] }, basic: { htpasswd: '/nonexistent/users.htpasswd' } },
      }),
      'the new config cannot start its authenticators',
      /nonexistent\/users\.htpasswd/,
    ],
    [
      'a file that cannot be read',
      () => {
        throw new Error('/etc/flink-guard/flink-guard.yaml: cannot read (ENOENT)')
      },
      'the new config cannot be read',
      /ENOENT/,
    ],
  ])(
    'refuses %s, says why, and keeps the running config for an upload across it',
    async (_name, load, reason, problem) => {
      proxy = await startProxy(standin.url, anonymousAs('deployer'))
      standin.record.reset()
      const upload = heldUpload(proxy.proxyUrl, 2 * MIB)
      await upload.halfway
      await eventually(() => proxy.inFlight()[0] === 1)

      expect(await proxy.reloadConfig(load)).toBe(false)
      const line = proxy.logs.find(
        (entry) => entry.msg === 'config reload refused: the running config stays in use',
      )
      expect(line).toMatchObject({ level: 50, reason })
      expect((line!.problems as string[]).join('\n')).toMatch(problem)
      expect(proxy.inFlight()).toEqual([1])

      upload.release()
      expect((await upload.response).statusCode).toBe(200)
      expect(standin.record.uploads.map((recorded) => recorded.sha256)).toEqual([upload.sha256])
      // Still a deployer: the refused config changed nothing.
      const again = heldUpload(proxy.proxyUrl, 1 * MIB)
      again.release()
      expect((await again.response).statusCode).toBe(200)
      const metrics = await (await request(`${proxy.adminUrl}/metrics`)).body.text()
      expect(metrics).toContain('flink_guard_reloads_total{what="config",result="failure"} 1')
    },
  )
})

describe('SIGHUP reloads the config file of flink-guard serve', () => {
  beforeAll(assertBuilt)

  it('a changed role mapping changes the next decision; a broken file changes nothing and says why', async () => {
    const standin = await startStandin()
    const text = (preset: string) =>
      `listen: { port: 0 }\nadmin: { port: 0 }\nupstream: { url: "${standin.url}" }\n` +
      `auth: { anonymous: { roles: [anyone] } }\nauthz: { roles: { anyone: ${preset} } }\n`
    const file = writeConfig(text('viewer'))
    const proxy = startCli(['serve', '--config', file])
    try {
      await proxy.waitFor(STARTED)
      const line = proxy
        .stdout()
        .split('\n')
        .find((entry) => STARTED.test(entry))!
      const { proxy: url, admin } = JSON.parse(line) as { proxy: string; admin: string }
      expect(await statusOf(`${url}/jars/upload`, 'POST')).toBe(403)

      writeFileSync(file, text('deployer'))
      proxy.child.kill('SIGHUP')
      await proxy.waitFor(/"msg":"config reloaded: new requests use it"/)
      standin.record.reset()
      const upload = heldUpload(url, 2 * MIB)
      // Past authorization: the upload has reached Flink and streams.
      await eventually(() => standin.record.count === 1)

      // A broken file while that upload streams: refused, named, and the upload and the mapping survive.
      writeFileSync(file, `${text('deployer')}authz: { roles: {} }\n`)
      proxy.child.kill('SIGHUP')
      await proxy.waitFor(/"msg":"config reload refused: the running config stays in use"/)
      expect(proxy.stdout()).toMatch(
        /"reason":"the new config is invalid","problems":\["YAML: Map keys must be unique/,
      )
      upload.release()
      expect((await upload.response).statusCode).toBe(200)
      expect(standin.record.uploads.at(-1)?.sha256).toBe(upload.sha256)
      expect(await statusOf(`${url}/jars/upload`, 'POST')).not.toBe(403)

      const metrics = await (await request(`${admin}/metrics`)).body.text()
      expect(metrics).toContain('flink_guard_reloads_total{what="config",result="success"} 1')
      expect(metrics).toContain('flink_guard_reloads_total{what="config",result="failure"} 1')
    } finally {
      proxy.child.kill('SIGTERM')
      await proxy.finished
      await standin.close()
    }
  })
})
