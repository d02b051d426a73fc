import { describe, expect, it } from 'vitest'
import {
  changesState,
  hasCrossSiteSignal,
  isSameOriginRequest,
  originOf,
  refusesCrossSite,
} from '../../src/auth/cross-site.js'

const NONE: ReadonlySet<string> = new Set()

describe('cross-site check', () => {
  it.each([
    ['GET', '/jobs/overview', false],
    ['HEAD', '/jobs/overview', false],
    ['OPTIONS', '/jobs', false],
    ['GET', '/jobs/0123456789abcdef0123456789abcdef/yarn-cancel', true],
    ['GET', '/jobs/0123456789abcdef0123456789abcdef/yarn-stop', true],
    ['HEAD', '/jobs/0123456789abcdef0123456789abcdef/yarn-cancel', true],
    ['GET', '/jars', true],
    ['GET', '/jars/c4b6a2c0_job.jar/plan', true],
    [
      'GET',
      '/jobs/0123456789abcdef0123456789abcdef/vertices/0123456789abcdef0123456789abcdef/flamegraph',
      true,
    ],
    // A bad id still names the acting route: refused as cross-site before its 400.
    ['GET', '/jobs/nope/yarn-cancel', true],
    ['GET', '/jobs/0123456789abcdef0123456789abcdef/plan', false],
    ['GET', '/jobs/0123456789abcdef0123456789abcdef', false],
    ['GET', '/index.html', false],
    ['POST', '/jobs/overview', true],
    ['PATCH', '/jobs/0123456789abcdef0123456789abcdef', true],
    ['DELETE', '/cluster', true],
    ['PUT', '/anything', true],
  ] as const)('%s %s changes state: %s', (method, path, expected) => {
    expect(changesState(method, path)).toBe(expected)
  })

  it.each([
    [{ 'sec-fetch-site': 'same-origin' }, true],
    [{ origin: 'https://flink.example.com' }, true],
    [{ 'sec-fetch-site': 'same-site' }, false],
    [{ 'sec-fetch-site': 'cross-site', origin: 'https://evil.example' }, false],
    [{ origin: 'https://flink.example.com:8443' }, false],
    [{ origin: 'null' }, false],
    [{}, false],
  ])('%j is same-origin: %s', (headers, expected) => {
    expect(isSameOriginRequest(headers, 'https://flink.example.com')).toBe(expected)
  })
})

describe('cross-site rule per credential', () => {
  const own = 'https://flink.example.com'
  const cancel = '/jobs/0123456789abcdef0123456789abcdef'
  it.each([
    [{}, false],
    [{ 'sec-fetch-site': 'same-origin' }, false],
    [{ 'sec-fetch-site': 'none' }, false],
    [{ origin: own }, false],
    [{ 'sec-fetch-site': 'cross-site' }, true],
    [{ 'sec-fetch-site': 'same-site' }, true],
    [{ origin: 'https://evil.example' }, true],
    [{ origin: 'null' }, true],
  ])('%j is a cross-site signal: %s', (headers, expected) => {
    expect(hasCrossSiteSignal(headers, own, NONE)).toBe(expected)
  })

  it('exempts only bearer tokens; cookie sessions need a positive same-origin signal', () => {
    const crossSite = { 'sec-fetch-site': 'cross-site' }
    for (const method of ['basic', 'mtls', 'anonymous', 'oidc'] as const) {
      expect(
        refusesCrossSite(method, 'PATCH', cancel, crossSite, () => own, NONE),
        method,
      ).toBe(true)
      expect(
        refusesCrossSite(method, 'GET', '/jobs/overview', crossSite, () => own, NONE),
        method,
      ).toBe(false)
    }
    expect(refusesCrossSite('jwt', 'PATCH', cancel, crossSite, () => own, NONE)).toBe(false)
    expect(refusesCrossSite('basic', 'PATCH', cancel, {}, () => own, NONE)).toBe(false)
    expect(refusesCrossSite('oidc', 'PATCH', cancel, {}, () => own, NONE)).toBe(true)
  })

  it.each([
    ['https', 'Flink.Example.com', 'https://flink.example.com'],
    ['https', 'flink.example.com:443', 'https://flink.example.com'],
    ['http', '127.0.0.1:8081', 'http://127.0.0.1:8081'],
    ['http', 'evil.example/@x', null],
    ['http', undefined, null],
  ] as const)('the origin of %s://%s is %s', (protocol, host, expected) => {
    expect(originOf(protocol, host)).toBe(expected)
  })
})

describe('origins trusted for credentialed CORS', () => {
  const own = 'https://flink.example.com'
  const cancel = '/jobs/0123456789abcdef0123456789abcdef'
  const trusted = new Set(['https://portal.example.com'])
  it('lets a state change from an allowed origin through for basic, mTLS and anonymous, never for a cookie session', () => {
    const fromPortal = { origin: 'https://portal.example.com', 'sec-fetch-site': 'same-site' }
    for (const method of ['basic', 'mtls', 'anonymous'] as const) {
      expect(
        refusesCrossSite(method, 'PATCH', cancel, fromPortal, () => own, trusted),
        method,
      ).toBe(false)
      expect(
        refusesCrossSite(method, 'PATCH', cancel, fromPortal, () => own, NONE),
        method,
      ).toBe(true)
    }
    expect(refusesCrossSite('oidc', 'PATCH', cancel, fromPortal, () => own, trusted)).toBe(true)
  })

  it('trusts only the exact origin', () => {
    for (const origin of ['https://portal.example.com.evil.example', 'http://portal.example.com', 'null']) {
      expect(hasCrossSiteSignal({ origin, 'sec-fetch-site': 'cross-site' }, own, trusted), origin).toBe(true)
    }
  })
})
