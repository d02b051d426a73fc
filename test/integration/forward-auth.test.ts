import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { hashSync } from '@node-rs/bcrypt'
import { Agent, request } from 'undici'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { validateConfig } from '../../src/config/load.js'
import { type Standin, startStandin } from '../../src/standin/server.js'
import { connectFrom } from './support/local-address.js'
import { startProxy, type TestProxy } from './support/proxy.js'

/**
 * Forward-auth mode over real sockets, described the way NGINX's auth_request (X-Original-Method and
 * X-Original-URI), ingress-nginx's auth-url (X-Original-URL) and Envoy's ext_authz (the client's method and path
 * behind a prefix) describe a request. The stand-in behind the proxy proves that a check never reaches Flink.
 * test/flink/forward-auth.test.ts puts a real NGINX in front of a real Flink.
 */

const PASSWORD = 'correct horse'
let standin: Standin
let proxy: TestProxy
let checkOnlyFrom127001: TestProxy

const basic = (user: string) => `Basic ${Buffer.from(`${user}:${PASSWORD}`).toString('base64')}`

const AUTH_CONFIG = (htpasswd: string) => ({
  auth: {
    basic: { htpasswd, users: { vera: ['viewers'], otto: ['operators'], Łukasz: ['operators'] } },
  },
  authz: { roles: { viewers: 'viewer', operators: 'operator' } },
})

beforeAll(async () => {
  standin = await startStandin()
  const dir = mkdtempSync(join(tmpdir(), 'fg-forward-auth-'))
  const htpasswd = join(dir, 'users.htpasswd')
  const hash = hashSync(PASSWORD, 4).replace(/^\$2b\$/, '$2y$')
  writeFileSync(htpasswd, `vera:${hash}\notto:${hash}\nŁukasz:${hash}\n`)
  proxy = await startProxy(standin.url, { ...AUTH_CONFIG(htpasswd), forwardAuth: { enabled: true } })
  checkOnlyFrom127001 = await startProxy(standin.url, {
    ...AUTH_CONFIG(htpasswd),
    forwardAuth: { enabled: true, allowFrom: ['127.0.0.1/32'] },
    authz: { ...AUTH_CONFIG(htpasswd).authz, trustedProxies: ['127.0.0.0/8'] },
  })
})
afterAll(async () => {
  await Promise.all([proxy.close(1_000), checkOnlyFrom127001.close(1_000)])
  await standin.close()
})
beforeEach(() => standin.record.reset())

async function ask(
  path: string,
  headers: Record<string, string | string[]>,
  options: { method?: string; via?: TestProxy; dispatcher?: Agent } = {},
) {
  const response = await request(`${(options.via ?? proxy).proxyUrl}${path}`, {
    method: (options.method ?? 'GET') as 'GET',
    headers,
    ...(options.dispatcher === undefined ? {} : { dispatcher: options.dispatcher }),
  })
  const text = await response.body.text()
  return {
    status: response.statusCode,
    headers: response.headers,
    text,
    code: response.headers['x-flink-guard-error'],
  }
}

/** An NGINX auth_request subrequest: a GET to the check path that carries the client's headers. */
const nginxCheck = (method: string, uri: string, headers: Record<string, string> = {}) =>
  ask('/_flink-guard/auth', { 'x-original-method': method, 'x-original-uri': uri, ...headers })

describe('a check under job scope (authz.jobScope)', () => {
  let scoped: TestProxy
  beforeAll(async () => {
    const htpasswd = join(mkdtempSync(join(tmpdir(), 'fg-forward-auth-scope-')), 'users.htpasswd')
    writeFileSync(htpasswd, `otto:${hashSync(PASSWORD, 4)}\n`)
    scoped = await startProxy(standin.url, {
      auth: { basic: { htpasswd, users: { otto: ['operators'] } } },
      authz: {
        roles: { operators: 'operator' },
        jobScope: { grants: [{ roles: ['operators'], names: ['orders-*'] }] },
      },
      forwardAuth: { enabled: true },
    })
  })
  afterAll(() => scoped.close(1_000))
  const check = (method: string, uri: string) =>
    ask(
      '/_flink-guard/auth',
      { 'x-original-method': method, 'x-original-uri': uri, authorization: basic('otto') },
      { via: scoped },
    )

  it("allows an operator's cancel of their team's job and refuses another team's, neither reaching the job", async () => {
    const own = standin.state.addJob('orders-v4', 'RUNNING')
    const other = standin.state.addJob('billing-v1', 'RUNNING')
    expect((await check('PATCH', `/jobs/${own.id}?mode=cancel`)).status).toBe(200)
    const refused = await check('PATCH', `/jobs/${other.id}?mode=cancel`)
    expect(refused.status).toBe(403)
    expect(refused.code).toBe('FG_ERR_AUTHZ_JOB_OUT_OF_SCOPE')
    // Only job scope's own look-up of the job names reached Flink.
    expect(standin.record.requests.map((sent) => sent.url)).toEqual(['/jobs/overview'])
    expect([own.state, other.state]).toEqual(['RUNNING', 'RUNNING'])
  })

  it('refuses job lists, which the front proxy would pass on uncut', async () => {
    for (const uri of ['/jobs/overview', '/jobs', '/overview']) {
      const refused = await check('GET', uri)
      expect(refused.status, uri).toBe(403)
      expect(refused.code).toBe('FG_ERR_AUTHZ_JOB_OUT_OF_SCOPE')
    }
  })
})

describe('a check described as NGINX auth_request describes it', () => {
  it("refuses a viewer's cancel with Flink's error shape and allows an operator's, and neither reaches Flink", async () => {
    const job = standin.state.addJob('orders-v3', 'RUNNING')
    const viewer = await nginxCheck('PATCH', `/jobs/${job.id}?mode=cancel`, { authorization: basic('vera') })
    expect(viewer.status).toBe(403)
    expect(viewer.code).toBe('FG_ERR_AUTHZ_PRESET_INSUFFICIENT')
    expect(Object.keys(JSON.parse(viewer.text))).toEqual(['errors'])
    const operator = await nginxCheck('PATCH', `/jobs/${job.id}?mode=cancel`, {
      authorization: basic('otto'),
    })
    expect(operator.status).toBe(200)
    expect(operator.text).toBe('')
    expect(operator.headers['x-forwarded-user']).toBe('otto')
    expect(operator.headers['x-forwarded-groups']).toBe('operators')
    expect(operator.headers['cache-control']).toBe('no-store')
    expect(standin.record.count).toBe(0)
    expect(standin.state.jobs.get(job.id)?.state).toBe('RUNNING')
  })

  it('answers a check without credentials with 401 and the Basic challenge NGINX can pass on', async () => {
    const response = await nginxCheck('GET', '/jobs/overview')
    expect(response.status).toBe(401)
    expect(response.headers['www-authenticate']).toMatch(/^Basic realm=/)
  })

  it('refuses a wrong password as it refuses it on the proxy port', async () => {
    const response = await nginxCheck('GET', '/jobs/overview', {
      authorization: `Basic ${Buffer.from('otto:wrong').toString('base64')}`,
    })
    expect(response.status).toBe(401)
    expect(response.code).toBe('FG_ERR_AUTH_BAD_CREDENTIALS')
  })

  it('judges the path of the described request, not of the check: DELETE /cluster is refused to an operator', async () => {
    const response = await nginxCheck('DELETE', '/cluster', { authorization: basic('otto') })
    expect(response.status).toBe(403)
    expect(response.code).toBe('FG_ERR_AUTHZ_PRESET_INSUFFICIENT')
  })

  it.each([
    ['/jobs/../cluster', 'FG_ERR_PATH_DOT_SEGMENT'],
    ['/jobs/%2e%2e/cluster', 'FG_ERR_PATH_DOT_SEGMENT'],
    ['/jobs%2Foverview', 'FG_ERR_PATH_ENCODED_SEPARATOR'],
    ['/jobs/%252e%252e/cluster', 'FG_ERR_PATH_DOUBLE_ENCODED'],
    ['http://flink/cluster', 'FG_ERR_FORWARD_AUTH_MALFORMED'],
  ])('screens the described target %s as it screens a request (%s)', async (uri, code) => {
    const response = await nginxCheck('GET', uri, { authorization: basic('otto') })
    expect(response.status).toBe(400)
    expect(response.code).toBe(code)
  })

  it('refuses a state-changing check that carries a browser cross-site signal', async () => {
    const job = standin.state.addJob('orders-v4', 'RUNNING')
    const response = await nginxCheck('PATCH', `/jobs/${job.id}?mode=cancel`, {
      authorization: basic('otto'),
      'sec-fetch-site': 'cross-site',
      origin: 'https://evil.example',
    })
    expect(response.status).toBe(403)
    expect(response.code).toBe('FG_ERR_AUTH_CROSS_SITE')
  })

  it('names a user with a non-ASCII name in percent-encoded UTF-8', async () => {
    const response = await nginxCheck('GET', '/jobs/overview', { authorization: basic('Łukasz') })
    expect(response.status).toBe(200)
    expect(response.headers['x-forwarded-user']).toBe('%C5%81ukasz')
  })

  it('logs one access line for the described request, marked as a check', async () => {
    const before = proxy.logs.length
    await nginxCheck('POST', '/jars/upload', { authorization: basic('vera') })
    const line = proxy.logs
      .slice(before)
      .find((entry) => entry.msg === 'request completed' && entry.forwardAuthCheck === true)
    expect(line).toMatchObject({ method: 'POST', url: '/jars/upload', status: 403, user: 'vera' })
  })
})

describe('a check that does not describe exactly one request', () => {
  it.each([
    ['no method', { 'x-original-uri': '/jobs/overview' }],
    ['no target', { 'x-original-method': 'GET' }],
    ['a method the proxy does not serve', { 'x-original-method': 'TRACE', 'x-original-uri': '/' }],
    ['a lower-case method', { 'x-original-method': 'get', 'x-original-uri': '/' }],
    ['a target that is not a path', { 'x-original-method': 'GET', 'x-original-uri': '*' }],
    ['a repeated target', { 'x-original-method': 'GET', 'x-original-uri': ['/overview', '/cluster'] }],
    ['a repeated method', { 'x-original-method': ['GET', 'DELETE'], 'x-original-uri': '/overview' }],
    ['an X-Original-URL that is not http(s)', { 'x-original-method': 'GET', 'x-original-url': 'ftp://h/x' }],
    [
      'an X-Original-URI and X-Original-URL that disagree',
      { 'x-original-method': 'GET', 'x-original-uri': '/overview', 'x-original-url': 'https://gw/cluster' },
    ],
  ])('is refused with 400: %s', async (_what, headers) => {
    const response = await ask('/_flink-guard/auth', { ...headers, authorization: basic('otto') })
    expect(response.status).toBe(400)
    expect(response.code).toBe('FG_ERR_FORWARD_AUTH_MALFORMED')
  })
})

describe('a check described as ingress-nginx auth-url describes it (X-Original-URL)', () => {
  it('judges the absolute URL by its path as sent', async () => {
    const allowed = await ask('/_flink-guard/auth', {
      'x-original-method': 'GET',
      'x-original-url': 'https://flink.example.com/jobs/overview?x=1',
      authorization: basic('vera'),
    })
    expect(allowed.status).toBe(200)
    // new URL() would resolve the dot segments to /cluster before anyone judged them.
    const hidden = await ask('/_flink-guard/auth', {
      'x-original-method': 'DELETE',
      'x-original-url': 'https://flink.example.com/jobs/../cluster',
      authorization: basic('otto'),
    })
    expect(hidden.status).toBe(400)
    expect(hidden.code).toBe('FG_ERR_PATH_DOT_SEGMENT')
  })
})

describe("a check described as Envoy's ext_authz describes it (method and path behind a prefix)", () => {
  it('judges the method of the check and the path after the prefix', async () => {
    const job = standin.state.addJob('orders-v5', 'RUNNING')
    const path = `/_flink-guard/ext-authz/jobs/${job.id}?mode=cancel`
    const viewer = await ask(path, { authorization: basic('vera') }, { method: 'PATCH' })
    expect(viewer.status).toBe(403)
    const operator = await ask(path, { authorization: basic('otto') }, { method: 'PATCH' })
    expect(operator.status).toBe(200)
    expect(operator.headers['x-forwarded-user']).toBe('otto')
    expect(standin.record.count).toBe(0)
  })
})

describe('who may ask', () => {
  it('refuses a check from a peer outside forwardAuth.allowFrom, whatever X-Forwarded-For claims', async () => {
    const dispatcher = new Agent({ connect: connectFrom('127.0.0.2') })
    try {
      const refused = await ask(
        '/_flink-guard/auth',
        {
          'x-original-method': 'GET',
          'x-original-uri': '/jobs/overview',
          'x-forwarded-for': '127.0.0.1',
          authorization: basic('otto'),
        },
        { via: checkOnlyFrom127001, dispatcher },
      )
      expect(refused.status).toBe(403)
      expect(refused.code).toBe('FG_ERR_FORWARD_AUTH_PEER_DENIED')
      expect(refused.headers['x-forwarded-user']).toBeUndefined()
    } finally {
      await dispatcher.close()
    }
    const allowed = await ask(
      '/_flink-guard/auth',
      { 'x-original-method': 'GET', 'x-original-uri': '/jobs/overview', authorization: basic('otto') },
      { via: checkOnlyFrom127001 },
    )
    expect(allowed.status).toBe(200)
  })

  it('treats the check path as a Flink path when forward-auth is off', async () => {
    const off = await startProxy(standin.url)
    try {
      const response = await ask(
        '/_flink-guard/auth',
        { 'x-original-method': 'DELETE', 'x-original-uri': '/cluster' },
        { via: off },
      )
      // Forwarded as the path it is (the test proxy's rule allows every path): no decision is answered.
      expect(response.headers['x-forwarded-user']).toBeUndefined()
      expect(standin.record.requests.map((entry) => entry.url)).toEqual(['/_flink-guard/auth'])
    } finally {
      await off.close(1_000)
    }
  })
})

describe('forwardAuth config', () => {
  const problemsOf = (config: Record<string, unknown>) => {
    try {
      validateConfig({ upstream: { url: 'http://127.0.0.1:8081' }, ...config }, 'test', {})
      return ''
    } catch (err) {
      return (err as Error).message
    }
  }
  it('refuses a peer that is not an address or CIDR', () => {
    expect(
      problemsOf({ auth: { anonymous: {} }, forwardAuth: { enabled: true, allowFrom: ['nginx'] } }),
    ).toContain('"forwardAuth.allowFrom[0]" must be an IPv4 or IPv6 address or CIDR')
  })
  it('refuses a check path under the ext_authz prefix', () => {
    expect(
      problemsOf({
        auth: { anonymous: {} },
        forwardAuth: { enabled: true, path: '/_flink-guard/ext-authz/auth' },
      }),
    ).toContain('must not lie under "forwardAuth.extAuthzPrefix"')
  })
  it('refuses authz.arguments, whose bodies a check never carries', () => {
    expect(
      problemsOf({
        auth: { anonymous: {} },
        authz: { arguments: [{ savepointDirs: ['s3://a/'] }] },
        forwardAuth: { enabled: true },
      }),
    ).toContain('"forwardAuth" cannot be used with authz.arguments')
  })
  it('refuses the OIDC login, whose redirect a front proxy does not pass on', () => {
    expect(
      problemsOf({
        auth: {
          order: ['oidc'],
          oidc: {
            issuer: 'https://idp.example.com',
            clientId: 'flink',
            clientSecret: 'x',
            publicUrl: 'https://flink.example.com',
          },
        },
        forwardAuth: { enabled: true },
      }),
    ).toContain('"forwardAuth" cannot be used with auth.oidc')
  })
})
