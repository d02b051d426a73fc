import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { parseAllDocuments } from 'yaml'
import { validateConfig } from '../../src/config/load.js'

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8')

describe('docker/Dockerfile', () => {
  const dockerfile = read('docker/Dockerfile')
  const stages = dockerfile.split(/^FROM /m).slice(1)
  const runtime = stages.at(-1)!

  it('builds on a base image pinned by full version, in several stages', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2)
    for (const stage of stages)
      expect(stage).toMatch(/^node:\d+\.\d+\.\d+-[a-z-]+(@sha256:[0-9a-f]{64})? AS /)
  })

  it('runs as a non-root numeric user, with production dependencies only', () => {
    expect(runtime).toMatch(/^USER 10001:10001$/m)
    expect(runtime).toContain('npm ci --omit=dev')
    expect(runtime).not.toMatch(/^RUN npm ci(?!.*--omit=dev)/m)
    expect(runtime).not.toMatch(/COPY --from=build \/app\/node_modules/)
  })

  it('has a HEALTHCHECK that needs no curl, against the admin listener', () => {
    const healthcheck = /^HEALTHCHECK[\s\S]*?CMD (\[.*\])$/m.exec(runtime)
    expect(healthcheck).not.toBeNull()
    const command = JSON.parse(healthcheck![1]!) as string[]
    expect(command[0]).toBe('node')
    expect(command.join(' ')).toContain('/healthz')
    const instructions = runtime.split('\n').filter((line) => !line.trimStart().startsWith('#'))
    expect(instructions.join('\n')).not.toMatch(/curl|wget/)
  })
})

// Kubernetes manifests are schemaless YAML here: the tests walk them as plain JSON.
// biome-ignore lint/suspicious/noExplicitAny: parsed YAML, checked field by field below
type Manifest = Record<string, any>
const manifests = ['docker/k8s/sidecar.yaml', 'docker/k8s/gateway.yaml'].map((file) => ({
  file,
  documents: parseAllDocuments(read(file)).map((document) => document.toJS() as Manifest),
}))
/** Every secret a manifest's config refers to, as the Secrets would feed the environment. */
const SECRET_ENV = {
  REST_KEYSTORE_PASSWORD: 'x',
  TRUSTSTORE_PASSWORD: 'x',
  OIDC_CLIENT_SECRET: 'x',
  OIDC_COOKIE_SECRET: 'a-cookie-secret-of-at-least-32-characters',
}
const guardPodOf = (documents: Manifest[]): Manifest =>
  documents
    .filter((doc) => doc.kind === 'Deployment')
    .map((doc) => doc.spec.template.spec)
    .find((pod: Manifest) => pod.containers.some((c: Manifest) => c.name === 'flink-guard'))
const guardConfigOf = (file: string, documents: Manifest[]) => {
  const configMap = documents.find((doc) => doc.kind === 'ConfigMap' && doc.data?.['flink-guard.yaml'])
  return validateConfig(parseAllDocuments(configMap!.data['flink-guard.yaml'])[0]!.toJS(), file, SECRET_ENV)
}

describe('Kubernetes manifests', () => {
  it.each(manifests)("$file parses, and no Service exposes Flink's REST port 8081", ({ documents }) => {
    for (const service of documents.filter((doc) => doc.kind === 'Service')) {
      for (const port of service.spec.ports) {
        expect(port.port).not.toBe(8081)
        expect(port.targetPort).not.toBe(8081)
        expect(port.targetPort).toBe('https')
      }
    }
  })

  it.each(manifests)('$file probes flink-guard on its admin port and runs it hardened', ({ documents }) => {
    const guard = guardPodOf(documents).containers.find((c: Manifest) => c.name === 'flink-guard')
    expect(guard.readinessProbe.httpGet).toEqual(expect.objectContaining({ path: '/readyz', port: 'admin' }))
    expect(guard.livenessProbe.httpGet).toEqual(expect.objectContaining({ path: '/healthz', port: 'admin' }))
    expect(guard.ports.find((p: Manifest) => p.name === 'admin').containerPort).toBe(9250)
    expect(guard.securityContext).toMatchObject({
      runAsNonRoot: true,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
    })
  })

  it.each(manifests)(
    '$file carries a flink-guard config that the config loader accepts',
    ({ file, documents }) => {
      expect(() => guardConfigOf(file, documents)).not.toThrow()
    },
  )

  it.each(manifests)(
    '$file gives the pod more time to stop than flink-guard needs to drain',
    ({ file, documents }) => {
      const { config } = guardConfigOf(file, documents)
      expect(guardPodOf(documents).terminationGracePeriodSeconds * 1000).toBeGreaterThan(
        config.shutdown.graceMs,
      )
    },
  )

  it('binds Flink to loopback in the sidecar layout', () => {
    const flink = manifests[0]!.documents.find((doc) => doc.metadata?.name === 'flink-config')
    const flinkConfig = parseAllDocuments(flink!.data['config.yaml'])[0]!.toJS() as {
      rest: Record<string, unknown>
    }
    expect(flinkConfig.rest['bind-address']).toBe('127.0.0.1')
  })
})

describe('docker/grafana/flink-guard.json', () => {
  const KNOWN = new Set([
    'flink_guard_requests_total',
    'flink_guard_request_duration_seconds_bucket',
    'flink_guard_upstream_duration_seconds_bucket',
    'flink_guard_auth_failures_total',
    'flink_guard_authz_denied_total',
    'flink_guard_certificate_expiry_seconds',
    'flink_guard_upstream_up',
    'flink_guard_tls_handshake_errors_total',
    'flink_guard_requests_in_flight',
    'flink_guard_build_info',
  ])
  const dashboard = JSON.parse(read('docker/grafana/flink-guard.json')) as {
    templating: {
      list: {
        name: string
        type: string
        query?: { query: string }
        includeAll?: boolean
        allValue?: string
      }[]
    }
    panels: {
      title: string
      targets: { expr: string }[]
      fieldConfig?: { defaults?: { noValue?: string } }
    }[]
  }
  const exprs = dashboard.panels.flatMap((panel) => panel.targets.map((target) => target.expr))

  it('queries only metrics flink-guard exports, and shows the essentials', () => {
    for (const expr of exprs) {
      for (const name of expr.match(/flink_guard_[a-z_]+/g) ?? []) expect(KNOWN, expr).toContain(name)
    }
    const titles = dashboard.panels.map((panel) => panel.title).join(' | ')
    for (const topic of [
      'Request rate',
      'Error ratio',
      'p99',
      'Authentication failures',
      'Certificate days left',
    ]) {
      expect(titles).toContain(topic)
    }
  })

  it('has namespace, job and instance variables (All by default), and every query is scoped by them', () => {
    for (const name of ['namespace', 'job', 'instance']) {
      const variable = dashboard.templating.list.find((entry) => entry.name === name)
      expect(variable, name).toMatchObject({ type: 'query', includeAll: true, allValue: '.*' })
      expect(variable!.query!.query).toBe(`label_values(flink_guard_build_info, ${name})`)
    }
    for (const expr of exprs) {
      // Every selector of a flink-guard metric, with or without other matchers.
      for (const selector of expr.match(/flink_guard_[a-z_]+(\{[^}]*\})?/g) ?? []) {
        expect(selector, expr).toContain('{namespace=~"$namespace", job=~"$job", instance=~"$instance"')
      }
    }
  })

  it('shows 0, not "No data", for counts with nothing in the range', () => {
    const counts = dashboard.panels.filter((panel) =>
      panel.targets.some((target) => /_total\b|_in_flight\b/.test(target.expr)),
    )
    expect(counts.length).toBeGreaterThanOrEqual(6)
    for (const panel of counts) {
      expect(panel.fieldConfig?.defaults?.noValue, panel.title).toBe('0')
      for (const target of panel.targets) expect(target.expr, panel.title).toMatch(/ or vector\(0\)$/)
    }
  })
})
