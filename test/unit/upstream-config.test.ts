import { describe, expect, it } from 'vitest'
import { canonicalize } from '../../src/authz/canonical-path.js'
import { ConfigError, validateConfig } from '../../src/config/load.js'
import { splitPrefix } from '../../src/upstream/prefix.js'
import { compileAllowlist, parseHostPort } from '../../src/upstream/yarn/allowlist.js'

const AUTH = { auth: { anonymous: { roles: ['x'] } } }

function problemsOf(config: Record<string, unknown>): readonly string[] {
  try {
    validateConfig({ ...AUTH, ...config }, 'test', {})
  } catch (err) {
    if (err instanceof ConfigError) return err.problems
    throw err
  }
  return []
}

const cluster = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  upstream: { url: 'http://127.0.0.1:8081' },
  ...extra,
})

describe('clusters in the config', () => {
  it('needs an upstream, clusters or yarn', () => {
    expect(problemsOf({})).toEqual(['"upstream" is required: configure upstream.url, clusters or yarn'])
    expect(problemsOf({ clusters: [cluster('a')] })).toEqual([])
  })

  it('reports every problem of every cluster with its key path', () => {
    expect(
      problemsOf({
        clusters: [
          cluster('a', { hosts: ['a.example.com'] }),
          cluster('a', { hosts: ['A.example.com.'] }),
          { name: 'Bad_Name', upstream: { url: 'http://u:p@flink:8081/x' } },
          cluster('c', { pathPrefix: false }),
          cluster('d', { hosts: ['d.example.com:443', 'd/x'] }),
          cluster('e', { authz: { rules: [{ effect: 'allow', path: 'no-slash' }], admins: [] } }),
        ],
      }),
    ).toEqual(
      expect.arrayContaining([
        '"clusters[1].name" "a" is already the name of clusters[0]',
        '"clusters[1].hosts[0]" "A.example.com." already addresses clusters[0]',
        expect.stringMatching(/^"clusters\[2\]\.name" must /),
        '"clusters[2].upstream.url" must not carry credentials, got "http://flink:8081" with a user name',
        '"clusters[2].upstream.url" must be an origin without a path or query (Flink serves from /), got "http://u:p@flink:8081/x"',
        '"clusters[3]" has pathPrefix: false and no hosts, so no request can reach it',
        '"clusters[4].hosts[0]" must be a host name without port or path, got "d.example.com:443"',
        '"clusters[4].hosts[1]" must be a host name without port or path, got "d/x"',
        '"clusters[5].authz.admins" is not a known key',
        expect.stringMatching(/^"clusters\[5\]\.authz\.rules\[0\]\.path" must start with/),
      ]),
    )
  })

  it("refuses a cluster named as the top-level upstream or YARN: they would share its label and job owners' records", () => {
    expect(problemsOf({ clusters: [cluster('default'), cluster('yarn'), cluster('defaults')] })).toEqual([
      '"clusters[0].name" "default" is reserved (the top-level upstream is "default", YARN is "yarn")',
      '"clusters[1].name" "yarn" is reserved (the top-level upstream is "default", YARN is "yarn")',
    ])
  })

  it('keeps the top-level roles for a cluster that sets none', () => {
    const { config } = validateConfig(
      { ...AUTH, authz: { roles: { x: 'viewer' } }, clusters: [cluster('a')] },
      'test',
      {},
    )
    expect(config.clusters![0]!.authz).toBeUndefined()
  })
})

describe('splitPrefix', () => {
  const split = (target: string) => {
    const canonical = canonicalize(target)
    if (!canonical.ok) throw new Error(canonical.code)
    return splitPrefix(canonical, 'clusters')
  }

  it('takes the prefix off and keeps the rest byte for byte', () => {
    expect(split('/clusters/a/jobs/x%20y?q=1+2')).toMatchObject({
      kind: 'prefixed',
      name: 'a',
      canonical: { path: '/jobs/x y', matchPath: '/jobs/x y', forwardTarget: '/jobs/x%20y?q=1+2' },
    })
    expect(split('/clusters/a/v1/jobs/')).toMatchObject({
      canonical: { matchPath: '/jobs', path: '/v1/jobs/' },
    })
    // Flink's second decoding reads `+` as a space; the target goes out as sent.
    expect(split('/clusters/a/a+b')).toMatchObject({ canonical: { path: '/a b', forwardTarget: '/a+b' } })
    // A leading run of slashes is one slash to Flink and to the screening alike.
    expect(split('///clusters/a/jobs')).toMatchObject({ kind: 'prefixed', name: 'a' })
  })

  it('compares the name undecoded', () => {
    expect(split('/clusters/%61/jobs')).toMatchObject({ kind: 'prefixed', name: '%61' })
  })

  it.each([
    ['/clusters/a', '/clusters/a/'],
    ['/clusters/a?x=/y', '/clusters/a/?x=/y'],
  ])('sees %s as the bare prefix (redirect to %s)', (target, location) => {
    expect(split(target)).toEqual({ kind: 'bare', name: 'a', location })
  })

  it.each(['/clusters', '/clusters/', '/clusters/?a', '/clusterss/a/x', '/v1/clusters/a/x', '/x/clusters/a'])(
    'sees no prefix in %s',
    (target) => {
      expect(split(target)).toEqual({ kind: 'none' })
    },
  )
})

describe('the YARN address allowlist', () => {
  const list = compileAllowlist(
    ['*.nodes.example.com', 'edge.example.com', '10.1.0.0/16', '192.0.2.7'],
    ['30000-30010', '8081'],
  )

  it.each([
    ['nm1.nodes.example.com', 30000],
    ['NM1.Nodes.Example.com', 30010],
    ['edge.example.com', 8081],
    ['10.1.255.1', 30005],
    ['192.0.2.7', 8081],
    // The IPv4-mapped spelling is the same address, and connects to the same host.
    ['::ffff:10.1.0.1', 30000],
  ])('allows %s:%i', (host, port) => {
    expect(list.allows(host, port)).toBe(true)
  })

  it.each([
    ['nodes.example.com', 30000],
    ['evilnodes.example.com', 30000],
    ['nm1.nodes.example.com.evil.net', 30000],
    ['edge.example.com', 30011],
    ['edge.example.com', 29999],
    ['sub.edge.example.com', 8081],
    ['10.2.0.1', 30000],
    ['192.0.2.8', 8081],
    ['nm1.nodes.example.com', Number.NaN],
  ])('refuses %s:%i', (host, port) => {
    expect(list.allows(host, port)).toBe(false)
  })

  it.each([
    ['nm1:30000', { host: 'nm1', port: 30000 }],
    ['[::1]:8081', { host: '::1', port: 8081 }],
    ['nm1:0', null],
    ['nm1:70000', null],
    ['nm1', null],
    ['', null],
    ['nm1:80/x', null],
    ['user@nm1:80', null],
    ['nm1:80 extra', null],
  ])('reads amRPCAddress %j as %j', (address, parsed) => {
    expect(parseHostPort(address)).toEqual(parsed)
  })
})

describe('yarn.historyServerUrl', () => {
  const yarn = (historyServerUrl: string) => ({
    yarn: {
      resourceManagers: ['http://rm:8088'],
      allowedHosts: ['*.example.com'],
      allowedPorts: ['30000-40000'],
      historyServerUrl,
    },
  })

  it.each(['https://history.example.com', 'http://history:8082/', 'https://gw.example.com/history/'])(
    'accepts %s',
    (url) => {
      expect(problemsOf(yarn(url))).toEqual([])
    },
  )

  it.each([
    [
      'history.example.com',
      '"yarn.historyServerUrl" must be an http: or https: URL, got "history.example.com"',
    ],
    [
      'javascript:alert(1)',
      '"yarn.historyServerUrl" must be an http: or https: URL, got "javascript:alert(1)"',
    ],
    [
      'https://u:p@history',
      '"yarn.historyServerUrl" must not carry credentials, got "https://history" with a user name',
    ],
    [
      'https://history/#/overview',
      '"yarn.historyServerUrl" must be a URL without a query or fragment, got "https://history/#/overview"',
    ],
    [
      'https://history/?a=1',
      '"yarn.historyServerUrl" must be a URL without a query or fragment, got "https://history/?a=1"',
    ],
  ])('refuses %s', (url, problem) => {
    expect(problemsOf(yarn(url))).toEqual([problem])
  })
})
