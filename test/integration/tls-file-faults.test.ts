import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { validateConfig } from '../../src/config/load.js'
import { type Standin, startStandin } from '../../src/standin/server.js'
import { eventually } from './support/eventually.js'
import { startProxy, type TestProxy } from './support/proxy.js'
import { fixture, httpsGet, KEYSTORE_PASSWORD, readFixture } from './support/tls-client.js'

/**
 * TLS files broken under a running proxy: replaced by garbage, truncated, deleted. The listener's keystore
 * reloads on its own (file watch) and on SIGHUP (`reloadTls`, what the signal runs); the upstream truststore is
 * read again on SIGHUP's config reload (`reloadConfig`, what the signal runs). Each time the last good material
 * stays in use, the failure is logged and counted in flink_guard_reloads_total.
 */

let standin: Standin
let httpsFlink: Standin
beforeAll(async () => {
  standin = await startStandin()
  const signed = readFixture('rest.signed.pem')
  httpsFlink = await startStandin({ https: { key: signed, cert: signed } })
})
afterAll(async () => {
  await standin.close()
  await httpsFlink.close()
})

/** A copy of the fixture `name` in a fresh directory (watched by the proxy), and its good bytes. */
function copyOf(name: string): { file: string; good: Buffer } {
  const file = join(mkdtempSync(join(tmpdir(), 'fg-tls-faults-')), name)
  copyFileSync(fixture(name), file)
  return { file, good: readFileSync(file) }
}

const faults = (file: string, good: Buffer): [string, () => void][] => [
  ['garbage', () => writeFileSync(file, Buffer.from([0x00, 0xff, 0x13, 0x37, 0x0a]))],
  ['truncated', () => writeFileSync(file, good.subarray(0, Math.floor(good.length / 2)))],
  ['deleted', () => rmSync(file)],
]

async function reloads(proxy: TestProxy, what: string, result: string): Promise<number> {
  const scrape = await (await request(`${proxy.adminUrl}/metrics`)).body.text()
  const line = new RegExp(`^flink_guard_reloads_total\\{what="${what}",result="${result}"\\} (\\d+)$`, 'm')
  return Number(line.exec(scrape)?.[1] ?? 0)
}

describe("the listener's keystore broken under the running proxy", () => {
  it('keeps serving the last good certificate; every failure logged and counted, on the watch and on SIGHUP', async () => {
    const { file: keystore, good } = copyOf('rest.signed.keystore')
    const proxy = await startProxy(standin.url, { tls: { keystore, keystorePassword: KEYSTORE_PASSWORD } })
    try {
      const url = `https://localhost:${new URL(proxy.proxyUrl).port}/overview`
      const served = async () => (await httpsGet(url, { ca: readFixture('ca.pem') })).status
      expect(await served()).toBe(200)
      for (const [name, fault] of faults(keystore, good)) {
        const before = await reloads(proxy, 'tls', 'failure')
        fault()
        // The directory watch notices it on its own...
        await eventually(async () => (await reloads(proxy, 'tls', 'failure')) > before, 3_000)
        // ...and SIGHUP's reload refuses it too.
        const watched = await reloads(proxy, 'tls', 'failure')
        expect(proxy.reloadTls!(), name).toBe(false)
        expect(await reloads(proxy, 'tls', 'failure')).toBe(watched + 1)
        expect(await served(), name).toBe(200)
      }
      const failures = proxy.logs.filter(
        (line) => line.msg === 'TLS reload failed: the previous certificate stays in use',
      )
      expect(failures.length).toBe(await reloads(proxy, 'tls', 'failure'))
      expect(failures.length).toBeGreaterThanOrEqual(6)
      expect(failures.every((line) => String(line.reason).includes(keystore))).toBe(true)
      // A good file again is taken.
      writeFileSync(keystore, good)
      expect(proxy.reloadTls!()).toBe(true)
      expect(await served()).toBe(200)
    } finally {
      await proxy.close(1_000)
    }
  })
})

describe('the upstream truststore broken before a SIGHUP', () => {
  it('refuses the reload, keeps the running TLS to Flink, logs and counts it', async () => {
    const { file: truststore, good } = copyOf('ca.pem')
    const settings = { upstream: { url: httpsFlink.url, tls: { truststore } } }
    const proxy = await startProxy(httpsFlink.url, settings)
    const reread = () =>
      validateConfig(
        {
          listen: { port: 0 },
          admin: { port: 0 },
          auth: { anonymous: { roles: ['tester'] } },
          authz: { roles: { tester: 'admin' }, rules: [{ effect: 'allow', path: '/**' }] },
          ...settings,
        },
        'reloaded',
        {},
      )
    try {
      const overview = async () => {
        const response = await request(`${proxy.proxyUrl}/overview`)
        await response.body.dump()
        return response.statusCode
      }
      expect(await overview()).toBe(200)
      for (const [index, [name, fault]] of faults(truststore, good).entries()) {
        fault()
        expect(await proxy.reloadConfig(reread), name).toBe(false)
        expect(await reloads(proxy, 'config', 'failure')).toBe(index + 1)
        expect(await overview(), name).toBe(200)
      }
      expect(
        proxy.logs.filter((line) => line.msg === 'config reload refused: the running config stays in use'),
      ).toHaveLength(3)
      writeFileSync(truststore, good)
      expect(await proxy.reloadConfig(reread)).toBe(true)
      expect(await overview()).toBe(200)
    } finally {
      await proxy.close(1_000)
    }
  })
})
