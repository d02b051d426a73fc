import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Preset } from '../../src/authz/presets.js'
import { type Standin, startStandin } from '../../src/standin/server.js'
import { startProxy, type TestProxy } from './support/proxy.js'

/**
 * `/config`'s dashboard features through the real proxy, per preset: the dashboard offers Submit, Cancel and
 * Rescale only to a caller who may use them. The stand-in answers as Flink does with web.submit.enable and
 * web.cancel.enable on and rescale off (test/flink/standin-parity.test.ts compares it with real Flink).
 */

let standin: Standin
const proxies = {} as Record<Preset | 'rule', TestProxy>

beforeAll(async () => {
  standin = await startStandin()
  for (const preset of ['viewer', 'operator', 'deployer', 'admin'] as const) {
    proxies[preset] = await startProxy(standin.url, {
      auth: { anonymous: { roles: [preset] } },
      authz: { roles: { [preset]: preset } },
    })
  }
  // An operator whom a rule forbids cancelling.
  proxies.rule = await startProxy(standin.url, {
    auth: { anonymous: { roles: ['ops'] } },
    authz: {
      roles: { ops: 'operator' },
      rules: [{ effect: 'deny', methods: ['PATCH'], path: '/jobs/:jobid' }],
    },
  })
})
afterAll(async () => {
  await Promise.all(Object.values(proxies).map((proxy) => proxy.close(1_000)))
  await standin.close()
})

async function featuresFor(who: keyof typeof proxies) {
  const response = await request(`${proxies[who].proxyUrl}/config`)
  expect(response.statusCode).toBe(200)
  const body = (await response.body.json()) as { features: Record<string, boolean>; 'flink-version': string }
  expect(body['flink-version']).toBeTypeOf('string')
  return body.features
}

describe("/config's dashboard features", () => {
  it.each([
    ['viewer', { 'web-submit': false, 'web-cancel': false, 'web-rescale': false, 'web-history': false }],
    ['operator', { 'web-submit': false, 'web-cancel': true, 'web-rescale': false, 'web-history': false }],
    ['deployer', { 'web-submit': true, 'web-cancel': true, 'web-rescale': false, 'web-history': false }],
    ['admin', { 'web-submit': true, 'web-cancel': true, 'web-rescale': false, 'web-history': false }],
  ] as const)('are what a %s may use, and never on where Flink has them off', async (preset, features) => {
    expect(await featuresFor(preset)).toEqual(features)
  })

  it('follow the rules too: an operator denied PATCH /jobs/:jobid is not offered Cancel', async () => {
    expect((await featuresFor('rule'))['web-cancel']).toBe(false)
  })
})
