import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parse, parseAllDocuments } from 'yaml'
import { loadConfigFile, parseConfig } from '../../src/config/load.js'
import { ConfigSchema } from '../../src/config/schema.js'

/**
 * Every config a user might copy: the files under config/ and every flink-guard config block in the README
 * and docs/ must pass the loader `check-config` runs. Blocks that only show a section (`auth:` …) are checked
 * with an upstream added; Flink's own config and Kubernetes snippets are told apart by their keys.
 */

const root = new URL('../../', import.meta.url).pathname
const read = (path: string) => readFileSync(join(root, path), 'utf8')

/** What the examples refer to outside the config: secrets in the environment, files on the host. */
const work = mkdtempSync(join(tmpdir(), 'fg-examples-'))
const flinkConfDir = join(work, 'flink-conf')
const secretFile = join(work, 'keystore-password')
mkdirSync(flinkConfDir)
writeFileSync(
  join(flinkConfDir, 'config.yaml'),
  'rest:\n  bind-address: 127.0.0.1\n  address: 127.0.0.1\n  port: 8081\n',
)
writeFileSync(secretFile, 'changeit\n')
const HOST_PATHS: [string, string][] = [
  ['/opt/flink/conf\n', `${flinkConfDir}\n`],
  ['/etc/flink-guard/secrets/keystore-password', secretFile],
]
const ENV = {
  REST_KEYSTORE_PASSWORD: 'changeit',
  TLS_PASSWORD: 'changeit',
  POD_IP: '10.244.0.17',
  KEYSTORE_PASSWORD: 'changeit',
  FLINK_TRUSTSTORE_PASSWORD: 'changeit',
  OIDC_CLIENT_SECRET: 'client-secret',
  OIDC_COOKIE_SECRET: 'a-cookie-secret-of-at-least-32-characters',
  COOKIE_SECRET: 'a-cookie-secret-of-at-least-32-characters',
  COOKIE_SECRET_OLD: 'an-older-cookie-secret-of-32-characters-or-more',
  AUDIT_TOKEN: 'a-receiver-token',
}
const TOP_LEVEL_KEYS = new Set(Object.keys(ConfigSchema.properties))

/**
 * The yaml blocks of a Markdown text, unindented. Excerpts generated from docker/k8s/ (after a `<!-- from ... -->`
 * marker) are left to test/unit/k8s-docs.test.ts, except the flink-guard configs of ConfigMaps.
 */
function yamlBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/(?:^ *<!-- from (.*) -->\n)?^ *```yaml\n([\s\S]*?)^ *```/gm)]
    .filter((match) => match[1] === undefined || match[1].endsWith('/data/flink-guard.yaml'))
    .map((match) => {
      const lines = match[2]!.split('\n')
      const indent = Math.min(...lines.filter((l) => l.trim()).map((l) => l.length - l.trimStart().length))
      return lines.map((line) => line.slice(indent)).join('\n')
    })
}

const docs = ['README.md', ...readdirSync(join(root, 'docs')).map((name) => `docs/${name}`)].filter((p) =>
  p.endsWith('.md'),
)
const docBlocks = docs.flatMap((path) =>
  yamlBlocks(read(path))
    .map((text, index) => ({ name: `${path} block ${index + 1}`, text }))
    // Told apart by their top-level keys, read off the text so a block that is not even YAML still counts.
    .filter(({ text }) =>
      // Flink's flat keys (security.ssl.rest.enabled:) count too: such a block is Flink's config.
      [...text.matchAll(/^([A-Za-z][\w.-]*):/gm)].every((match) => TOP_LEVEL_KEYS.has(match[1]!)),
    ),
)

describe('example configs', () => {
  it.each(readdirSync(join(root, 'config')).filter((name) => name.endsWith('.yaml')))(
    'config/%s passes check-config',
    (name) => {
      const loaded = loadConfigFile(join(root, 'config', name), ENV)
      const { upstream, clusters, yarn } = loaded.config
      const urls = [
        upstream?.url,
        ...(clusters ?? []).map((c) => c.upstream.url),
        ...(yarn?.resourceManagers ?? []),
      ]
      expect(urls.filter((url) => url !== undefined).length).toBeGreaterThan(0)
      for (const url of urls) if (url !== undefined) expect(url).toMatch(/^https?:\/\//)
    },
  )

  it('finds the config blocks in the README and the docs', () => {
    expect(docBlocks.map((block) => block.name)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^README\.md/),
        expect.stringMatching(/^docs\/deploy-kubernetes\.md/),
        expect.stringMatching(/^docs\/deploy-standalone\.md/),
        expect.stringMatching(/^docs\/auth-oidc\.md/),
      ]),
    )
  })

  it.each(docBlocks)('$name passes check-config', ({ name, text }) => {
    let hosted = text
    for (const [path, local] of HOST_PATHS) hosted = hosted.replaceAll(path, local)
    const withUpstream = /^upstream:|^flinkConf:/m.test(hosted)
      ? hosted
      : `${hosted}\nupstream: { url: "http://127.0.0.1:8081" }\n`
    expect(() => parseConfig(withUpstream, name, ENV)).not.toThrow()
  })

  // deploy-files.test.ts keeps the ConfigMap and the block docs/deploy-kubernetes.md shows equal.
  it('config/sidecar.yaml is the config docker/k8s/sidecar.yaml carries', () => {
    const configMap = parseAllDocuments(read('docker/k8s/sidecar.yaml'))
      .map((document) => document.toJS() as { kind: string; data?: Record<string, string> })
      .find((doc) => doc.kind === 'ConfigMap' && doc.data?.['flink-guard.yaml'] !== undefined)
    expect(parse(configMap!.data!['flink-guard.yaml']!)).toEqual(parse(read('config/sidecar.yaml')))
  })

  it('refuses a broken copy, so the checks above can fail', () => {
    const broken = read('config/sidecar.yaml').replace('port: 8443', 'port: 99999')
    expect(() => parseConfig(broken, 'broken', ENV)).toThrow(/listen\.port/)
  })
})
