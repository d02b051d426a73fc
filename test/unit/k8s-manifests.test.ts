import { readFileSync } from 'node:fs'
// The generated models only: the package's entry point loads an undici that needs a newer Node.
import * as k8s from '@kubernetes/client-node/dist/gen/models/all.js'
import { describe, expect, it } from 'vitest'
import { parseAllDocuments } from 'yaml'
import { validateConfig } from '../../src/config/load.js'
import {
  coreProblems,
  flinkDeploymentProblems,
  podSpecProblems,
  podSpecsOf,
  restrictedProblems,
} from './support/k8s.js'

// biome-ignore lint/suspicious/noExplicitAny: parsed YAML, walked field by field
type Manifest = Record<string, any>

const FILES = ['docker/k8s/flink-deployment.yaml', 'docker/k8s/sidecar.yaml', 'docker/k8s/gateway.yaml']
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

describe('the core kinds against the Kubernetes schemas, strictly', () => {
  const resources = FILES.flatMap((file) =>
    documentsOf(file)
      .filter((doc) => doc.kind !== 'FlinkDeployment')
      .map((doc) => ({ file, name: `${doc.kind}/${doc.metadata.name}`, doc })),
  )

  it.each(resources)('$file $name is valid', ({ doc }) => {
    expect(coreProblems(doc, models)).toEqual([])
  })

  it('the FlinkDeployment’s pod templates are valid pod specs too', () => {
    for (const { spec } of podSpecsOf(flinkDeployment)) expect(podSpecProblems(spec, models)).toEqual([])
  })

  const gateway = () => clone(documentsOf(FILES[2]!).find((doc) => doc.kind === 'Deployment')!)

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
