import { readFileSync } from 'node:fs'
// The generated models only: the package's entry point loads an undici that needs a newer Node.
import * as k8s from '@kubernetes/client-node/dist/gen/models/all.js'
import { describe, expect, it } from 'vitest'
import { parseAllDocuments } from 'yaml'
import { validateConfig } from '../../src/config/load.js'
import {
  coreProblems,
  crdProblems,
  flinkDeploymentProblems,
  ingressAdmits,
  manifestProblems,
  type Peer,
  podSpecProblems,
  podSpecsOf,
  restrictedProblems,
} from './support/k8s.js'

// biome-ignore lint/suspicious/noExplicitAny: parsed YAML, walked field by field
type Manifest = Record<string, any>

const FILES = [
  'docker/k8s/flink-deployment.yaml',
  'docker/k8s/sidecar.yaml',
  'docker/k8s/gateway.yaml',
  'docker/k8s/flink-deployment-plain-container.yaml',
  'docker/k8s/certificates.yaml',
]
const documentsOf = (file: string): Manifest[] =>
  parseAllDocuments(readFileSync(new URL(`../../${file}`, import.meta.url), 'utf8')).map(
    (document) => document.toJS() as Manifest,
  )
const operatorFile = documentsOf(FILES[0]!)
const flinkDeployment = operatorFile.find((doc) => doc.kind === 'FlinkDeployment')!
const clone = (value: Manifest): Manifest => structuredClone(value)
const guardOf = (resource: Manifest): Manifest =>
  resource.spec.jobManager.podTemplate.spec.initContainers.find((c: Manifest) => c.name === 'flink-guard')

describe('the FlinkDeployment against the operator CRD, strictly', () => {
  it('is valid under the 1.15.0 CRD', () => {
    expect(flinkDeploymentProblems(flinkDeployment, '1.15.0')).toEqual([])
  })

  it('is refused by the 1.8.0 CRD: it has no restartPolicy on init containers, the native sidecar would be pruned', () => {
    expect(flinkDeploymentProblems(flinkDeployment, '1.8.0')).toContain(
      '/spec/jobManager/podTemplate/spec/initContainers/0: unknown field "restartPolicy"',
    )
  })

  it.each([
    ['spec', 'jobManger'],
    ['container', 'securityContxt'],
    ['probe', 'periodSecond'],
  ])('refuses a misspelt %s field (%s)', (where, typo) => {
    const bad = clone(flinkDeployment)
    const guard = guardOf(bad)
    if (where === 'spec') bad.spec[typo] = bad.spec.jobManager
    if (where === 'container') guard[typo] = guard.securityContext
    if (where === 'probe') guard.readinessProbe[typo] = 5
    expect(flinkDeploymentProblems(bad, '1.15.0')).toEqual(
      expect.arrayContaining([expect.stringContaining(`unknown field "${typo}"`)]),
    )
  })

  it('the plain-container fallback is valid under the 1.8.0 CRD and the 1.15.0 one: flink-guard beside Flink', () => {
    const plain = documentsOf(FILES[3]!).find((doc) => doc.kind === 'FlinkDeployment')!
    for (const version of ['1.8.0', '1.15.0'] as const)
      expect(flinkDeploymentProblems(plain, version)).toEqual([])
    const pod = plain.spec.jobManager.podTemplate.spec
    expect(pod.initContainers).toBeUndefined()
    expect(pod.containers.map((c: Manifest) => c.name)).toEqual(['flink-main-container', 'flink-guard'])
    const { restartPolicy, ...guard } = guardOf(flinkDeployment)
    expect(restartPolicy).toBe('Always')
    expect(pod.containers[1]).toEqual(guard)
  })

  it('refuses a wrong type', () => {
    const bad = clone(flinkDeployment)
    bad.spec.jobManager.replicas = 'one'
    expect(flinkDeploymentProblems(bad, '1.15.0')).toEqual(['/spec/jobManager/replicas: must be integer'])
  })

  it('carries a flink-guard config the loader accepts, sharing Flink’s port on the pod IP', () => {
    const configMap = operatorFile.find((doc) => doc.kind === 'ConfigMap')!
    const { config } = validateConfig(
      parseAllDocuments(configMap.data['flink-guard.yaml'])[0]!.toJS(),
      FILES[0]!,
      { POD_IP: '10.244.0.17', TLS_PASSWORD: 'x' },
    )
    expect(config.listen).toEqual({ host: '10.244.0.17', port: 8081 })
    expect(config.upstream?.url).toBe('https://127.0.0.1:8081')
    expect(config.authz.profiles).toEqual({ 'flink-kubernetes-operator': 'kubernetes-operator' })
    expect(flinkDeployment.spec.flinkConfiguration['rest.bind-address']).toBe('127.0.0.1')
    expect(flinkDeployment.spec.flinkConfiguration['rest.port']).toBe(String(config.listen.port))
  })
})

const models = k8s as unknown as Record<string, unknown>

const everyDocument = FILES.flatMap((file) =>
  documentsOf(file).map((doc) => ({ file, name: `${doc.kind}/${doc.metadata.name}`, doc })),
)

describe('every manifest against its schema, strictly: core kinds, the FlinkDeployment, PodMonitor, Certificate', () => {
  it.each(everyDocument)('$file $name is valid', ({ doc }) => {
    expect(manifestProblems(doc, models)).toEqual([])
  })

  it.each([
    ['PodMonitor', 'docker/k8s/gateway.yaml', ['spec', 'podMetricsEndpoints', 0], 'portt'],
    ['Certificate', 'docker/k8s/certificates.yaml', ['spec'], 'dnsName'],
  ] as const)('refuses a misspelt %s field', (kind, file, path, typo) => {
    const bad = clone(documentsOf(file).find((doc) => doc.kind === kind)!)
    // biome-ignore lint/suspicious/noExplicitAny: walking a parsed manifest
    const at = path.reduce((node: any, key) => node[key], bad)
    at[typo] = 'x'
    expect(crdProblems(bad)).toEqual([expect.stringContaining(`unknown field "${typo}"`)])
  })

  it('the FlinkDeployment’s pod templates are valid pod specs too', () => {
    for (const { spec } of podSpecsOf(flinkDeployment)) expect(podSpecProblems(spec, models)).toEqual([])
  })

  const gateway = () => clone(documentsOf(FILES[2]!).find((doc) => doc.kind === 'Deployment')!)

  it('refuses a misspelt topology spread field', () => {
    const bad = gateway()
    bad.spec.template.spec.topologySpreadConstraints[0].maxSkw = 1
    expect(coreProblems(bad, models)).toEqual([
      '/spec/template/spec/topologySpreadConstraints/0: unknown field "maxSkw"',
    ])
  })

  it.each([
    [
      'a misspelt container field',
      (d: Manifest) => {
        d.spec.template.spec.containers[0].imagePullPolicyy = 'Always'
      },
      '/spec/template/spec/containers/0: unknown field "imagePullPolicyy"',
    ],
    [
      'a misspelt pod field',
      (d: Manifest) => {
        d.spec.template.spec.terminationGracePeriod = 45
      },
      '/spec/template/spec: unknown field "terminationGracePeriod"',
    ],
    [
      'a wrong type',
      (d: Manifest) => {
        d.spec.replicas = 'two'
      },
      '/spec/replicas: must be a number',
    ],
    [
      'a list where an object belongs',
      (d: Manifest) => {
        d.spec.selector = []
      },
      '/spec/selector: must be an object',
    ],
  ])('refuses %s', (_what, spoil, problem) => {
    const bad = gateway()
    spoil(bad)
    expect(coreProblems(bad, models)).toEqual([problem])
  })

  it('does not guess at kinds it has no schema for', () => {
    expect(coreProblems({ apiVersion: 'example.com/v1', kind: 'Widget' }, models)).toBeNull()
  })
})

describe('Pod Security "restricted" over every pod spec', () => {
  const pods = FILES.flatMap((file) =>
    documentsOf(file).flatMap((doc) => podSpecsOf(doc).map((pod) => ({ file, ...pod }))),
  )

  it('finds the pods: two pod templates of the FlinkDeployment and a Deployment in each other file', () => {
    expect(pods.map((pod) => `${pod.file} ${pod.where}`)).toEqual([
      'docker/k8s/flink-deployment.yaml FlinkDeployment/orders jobManager',
      'docker/k8s/flink-deployment.yaml FlinkDeployment/orders taskManager',
      'docker/k8s/sidecar.yaml Deployment/flink-jobmanager',
      'docker/k8s/gateway.yaml Deployment/flink-guard-gateway',
      'docker/k8s/flink-deployment-plain-container.yaml FlinkDeployment/orders jobManager',
      'docker/k8s/flink-deployment-plain-container.yaml FlinkDeployment/orders taskManager',
    ])
  })

  it.each(pods)('$file $where passes', ({ spec }) => {
    expect(restrictedProblems(spec)).toEqual([])
  })

  const jobManagerPod = () => clone(flinkDeployment.spec.jobManager.podTemplate.spec)

  it('refuses a pod without seccompProfile', () => {
    const pod = jobManagerPod()
    delete pod.securityContext.seccompProfile
    delete pod.initContainers[0].securityContext.seccompProfile
    delete pod.containers[0].securityContext.seccompProfile
    expect(restrictedProblems(pod)).toEqual([
      'container flink-guard: no seccompProfile RuntimeDefault or Localhost',
      'container flink-main-container: no seccompProfile RuntimeDefault or Localhost',
    ])
  })

  it.each([
    [
      'privilege escalation',
      (pod: Manifest) => delete pod.containers[0].securityContext.allowPrivilegeEscalation,
      'allowPrivilegeEscalation is not false',
    ],
    [
      'root',
      (pod: Manifest) => {
        pod.initContainers[0].securityContext.runAsUser = 0
      },
      'runAsUser is 0',
    ],
    [
      'a capability',
      (pod: Manifest) => {
        pod.containers[0].securityContext.capabilities.add = ['SYS_ADMIN']
      },
      'adds capability SYS_ADMIN',
    ],
    [
      'a writable root',
      (pod: Manifest) => {
        pod.initContainers[0].securityContext.readOnlyRootFilesystem = false
      },
      'readOnlyRootFilesystem is not true',
    ],
    [
      'hostNetwork',
      (pod: Manifest) => {
        pod.hostNetwork = true
      },
      'hostNetwork is true',
    ],
    [
      'a hostPath',
      (pod: Manifest) => {
        pod.volumes.push({ name: 'root', hostPath: { path: '/' } })
      },
      'volume root is a hostPath',
    ],
    [
      'no memory limit',
      (pod: Manifest) => delete pod.initContainers[0].resources.limits,
      'needs cpu and memory requests',
    ],
  ])('refuses %s', (_what, spoil, problem) => {
    const pod = jobManagerPod()
    spoil(pod)
    expect(restrictedProblems(pod)).toEqual([expect.stringContaining(problem)])
  })
})

const labelsOf = (selector: Manifest) => selector.matchLabels as Record<string, string>
const podsOf = (file: string) =>
  documentsOf(file).flatMap((doc) =>
    podSpecsOf(doc).map(({ where, spec }) => ({
      // The operator labels its pods app: <name>, component: jobmanager|taskmanager, type: flink-native-kubernetes.
      labels:
        doc.kind === 'FlinkDeployment'
          ? {
              app: doc.metadata.name,
              component: where.endsWith('taskManager') ? 'taskmanager' : 'jobmanager',
              type: 'flink-native-kubernetes',
            }
          : (doc.spec.template.metadata.labels as Record<string, string>),
      spec,
    })),
  )
const selects = (selector: Manifest, labels: Record<string, string>) =>
  Object.entries(labelsOf(selector)).every(([key, value]) => labels[key] === value)

describe('the gateway keeps serving through disruptions', () => {
  const documents = documentsOf(FILES[2]!)
  const deployment = documents.find((doc) => doc.kind === 'Deployment')!
  const podLabels = deployment.spec.template.metadata.labels

  it('runs more replicas than its PodDisruptionBudget needs, and the budget selects its pods', () => {
    const budget = documents.find((doc) => doc.kind === 'PodDisruptionBudget')!
    expect(deployment.spec.replicas).toBeGreaterThanOrEqual(2)
    expect(budget.spec.minAvailable).toBeLessThan(deployment.spec.replicas)
    expect(selects(budget.spec.selector, podLabels)).toBe(true)
  })

  it('spreads its replicas over nodes and zones, without refusing to schedule on a one-node cluster', () => {
    const spread = deployment.spec.template.spec.topologySpreadConstraints as Manifest[]
    expect(spread.map((c) => c.topologyKey)).toEqual([
      'kubernetes.io/hostname',
      'topology.kubernetes.io/zone',
    ])
    for (const constraint of spread) {
      expect(constraint.whenUnsatisfiable).toBe('ScheduleAnyway')
      expect(selects(constraint.labelSelector, podLabels)).toBe(true)
    }
  })
})

describe('NetworkPolicies: who reaches which port', () => {
  const peers = {
    prometheus: {
      namespace: { 'kubernetes.io/metadata.name': 'monitoring' },
      pod: { 'app.kubernetes.io/name': 'prometheus' },
    },
    'the operator': {
      namespace: { 'kubernetes.io/metadata.name': 'flink-operator' },
      pod: { 'app.kubernetes.io/name': 'flink-kubernetes-operator' },
    },
    'a flink-guard gateway pod': { pod: { app: 'flink-guard' } },
    'a TaskManager of orders': {
      pod: { app: 'orders', component: 'taskmanager', type: 'flink-native-kubernetes' },
    },
    'a TaskManager of the plain sidecar': { pod: { app: 'flink', component: 'taskmanager' } },
    'another pod': { pod: { app: 'something-else' } },
    'a pod of another namespace': { namespace: { team: 'x' }, pod: { app: 'something-else' } },
  } satisfies Record<string, Peer>
  const { prometheus } = peers
  const stranger = peers['another pod']
  const policy = (file: string, name: string) =>
    documentsOf(file).find((doc) => doc.kind === 'NetworkPolicy' && doc.metadata.name === name)!

  const [OPERATOR_SIDECAR, SIDECAR, GATEWAY] = FILES

  it.each([
    // The gateway layout: Flink's REST on the pod network, flink-guard and the operator only.
    [GATEWAY, 'flink-rest-only-from-flink-guard', 'a flink-guard gateway pod', 8081, true],
    [GATEWAY, 'flink-rest-only-from-flink-guard', 'the operator', 8081, true],
    [GATEWAY, 'flink-rest-only-from-flink-guard', 'a TaskManager of orders', 8081, false],
    [GATEWAY, 'flink-rest-only-from-flink-guard', 'another pod', 8081, false],
    [GATEWAY, 'flink-rest-only-from-flink-guard', 'a TaskManager of orders', 6123, true],
    [GATEWAY, 'flink-rest-only-from-flink-guard', 'a TaskManager of orders', 6124, true],
    [GATEWAY, 'flink-rest-only-from-flink-guard', 'a TaskManager of orders', 9249, true],
    [GATEWAY, 'flink-rest-only-from-flink-guard', 'another pod', 6123, false],
    // The gateway's own pods: its HTTPS port to anyone, the admin port to Prometheus.
    [GATEWAY, 'flink-guard-gateway', 'a pod of another namespace', 8443, true],
    [GATEWAY, 'flink-guard-gateway', 'prometheus', 9250, true],
    [GATEWAY, 'flink-guard-gateway', 'another pod', 9250, false],
    [GATEWAY, 'flink-guard-gateway', 'a pod of another namespace', 9250, false],
    // The operator sidecar: 8081 on the pod IP is flink-guard, anyone may knock; admin to Prometheus only.
    [OPERATOR_SIDECAR, 'orders-jobmanager', 'the operator', 8081, true],
    [OPERATOR_SIDECAR, 'orders-jobmanager', 'a pod of another namespace', 8081, true],
    [OPERATOR_SIDECAR, 'orders-jobmanager', 'prometheus', 9250, true],
    [OPERATOR_SIDECAR, 'orders-jobmanager', 'the operator', 9250, false],
    [OPERATOR_SIDECAR, 'orders-jobmanager', 'a TaskManager of orders', 9250, false],
    [OPERATOR_SIDECAR, 'orders-jobmanager', 'a TaskManager of orders', 6123, true],
    [OPERATOR_SIDECAR, 'orders-jobmanager', 'a TaskManager of orders', 6124, true],
    [OPERATOR_SIDECAR, 'orders-jobmanager', 'another pod', 6123, false],
    [OPERATOR_SIDECAR, 'orders-jobmanager', 'the operator', 6124, false],
    // The plain Deployment sidecar.
    [SIDECAR, 'flink-jobmanager', 'a pod of another namespace', 8443, true],
    [SIDECAR, 'flink-jobmanager', 'prometheus', 9250, true],
    [SIDECAR, 'flink-jobmanager', 'a TaskManager of the plain sidecar', 9250, false],
    [SIDECAR, 'flink-jobmanager', 'a TaskManager of the plain sidecar', 6123, true],
    [SIDECAR, 'flink-jobmanager', 'another pod', 6123, false],
  ] as const)('%s NetworkPolicy %s: %s to port %i → %s', (file, name, peer, port, admitted) => {
    expect(ingressAdmits(policy(file!, name), peers[peer], port)).toBe(admitted)
  })

  it.each(FILES.filter((file) => documentsOf(file).some((doc) => doc.kind === 'PodMonitor')))(
    '%s: every PodMonitor scrapes a named admin port of its pods that their NetworkPolicy opens to Prometheus only',
    (file) => {
      for (const monitor of documentsOf(file).filter((doc) => doc.kind === 'PodMonitor')) {
        const pods = podsOf(file).filter((pod) => selects(monitor.spec.selector, pod.labels))
        expect(pods).toHaveLength(1)
        const { labels, spec } = pods[0]!
        for (const endpoint of monitor.spec.podMetricsEndpoints) {
          const containers: Manifest[] = [...(spec.initContainers ?? []), ...spec.containers]
          const port = containers
            .flatMap((container) => container.ports ?? [])
            .find((candidate: Manifest) => candidate.name === endpoint.port)
          expect(port?.containerPort).toBe(9250)
          expect(endpoint.path).toBe('/metrics')
          const policies = documentsOf(file).filter(
            (doc) => doc.kind === 'NetworkPolicy' && selects(doc.spec.podSelector, labels),
          )
          expect(policies).toHaveLength(1)
          expect(ingressAdmits(policies[0]!, prometheus, port.containerPort)).toBe(true)
          expect(ingressAdmits(policies[0]!, stranger, port.containerPort)).toBe(false)
        }
      }
    },
  )

  it('no Service exposes the admin port', () => {
    for (const { doc } of everyDocument.filter(({ doc }) => doc.kind === 'Service'))
      for (const port of doc.spec.ports) expect([port.port, port.targetPort]).not.toContain('admin')
  })
})

describe('resources', () => {
  it('every flink-guard container asks for the same measured resources (docs/deploy-kubernetes.md "Resources")', () => {
    const containers = everyDocument.flatMap(({ doc }) =>
      podSpecsOf(doc).flatMap(({ spec }) =>
        [...(spec.initContainers ?? []), ...spec.containers].filter(
          (c: Manifest) => c.name === 'flink-guard',
        ),
      ),
    )
    expect(containers).toHaveLength(4)
    for (const container of containers) expect(container.resources).toEqual(containers[0].resources)
  })
})
