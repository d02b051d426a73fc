import { readFileSync } from 'node:fs'
import { Ajv, type ErrorObject } from 'ajv'
import { parse, parseAllDocuments } from 'yaml'

/**
 * Offline checks of Kubernetes manifests: the Flink Kubernetes Operator's CRD schema applied strictly (an
 * unknown field is an error, as `kubectl apply --validate=strict` reports it, where the API server would
 * prune it silently), and Pod Security Standards "restricted" over every pod spec.
 */

// biome-ignore lint/suspicious/noExplicitAny: parsed YAML and JSON schemas, walked key by key
type Json = Record<string, any>

const FIXTURES = new URL('../../fixtures/k8s/', import.meta.url)

/** The pinned operator CRDs copied from apache/flink-kubernetes-operator (helm/.../crds), with its LICENSE. */
export const OPERATOR_CRD_VERSIONS = ['1.8.0', '1.15.0'] as const
export type OperatorCrdVersion = (typeof OPERATOR_CRD_VERSIONS)[number]

/** A structural schema made strict: every object with `properties` refuses other keys, unless it preserves them. */
function strict(schema: Json): Json {
  if (Array.isArray(schema)) return schema.map(strict)
  if (schema === null || typeof schema !== 'object') return schema
  const out: Json = {}
  for (const [key, value] of Object.entries(schema)) {
    if (key.startsWith('x-kubernetes-') || key === 'nullable') continue
    out[key] = key === 'properties' ? mapValues(value, strict) : strict(value)
  }
  if (schema['x-kubernetes-int-or-string'] === true) {
    delete out.type
    out.anyOf = [{ type: 'integer' }, { type: 'string' }]
  }
  if (
    schema.properties !== undefined &&
    schema.additionalProperties === undefined &&
    schema['x-kubernetes-preserve-unknown-fields'] !== true
  ) {
    out.additionalProperties = false
  }
  return out
}

function mapValues(record: Json, map: (value: Json) => Json): Json {
  return Object.fromEntries(Object.entries(record).map(([key, value]) => [key, map(value)]))
}

/** The other CRDs the manifests use, pinned, each copied with its LICENSE (test/fixtures/k8s/README.md). */
const OTHER_CRDS: Readonly<Record<string, string>> = {
  'monitoring.coreos.com PodMonitor': 'monitoring.coreos.com_podmonitors-v0.93.0.yaml',
  'cert-manager.io Certificate': 'cert-manager.io_certificates-v1.21.1.yaml',
}

const validators = new Map<string, ReturnType<Ajv['compile']> | string>()

/** Problems of a FlinkDeployment under the operator CRD of `version`, as `path: message` lines. */
export function flinkDeploymentProblems(resource: Json, version: OperatorCrdVersion): string[] {
  return crdSchemaProblems(resource, `flinkdeployments.flink.apache.org-v1.${version}.yml`)
}

/** Problems of a custom resource under its pinned CRD (the operator's 1.15.0); null for a kind with none. */
export function crdProblems(resource: Json): string[] | null {
  if (resource.kind === 'FlinkDeployment') return flinkDeploymentProblems(resource, '1.15.0')
  const file = OTHER_CRDS[`${String(resource.apiVersion).split('/')[0]} ${resource.kind}`]
  return file === undefined ? null : crdSchemaProblems(resource, file)
}

function crdSchemaProblems(resource: Json, file: string): string[] {
  const served = String(resource.apiVersion).split('/')[1]
  const key = `${file} ${served}`
  let validate = validators.get(key)
  if (validate === undefined) {
    const crd = parse(readFileSync(new URL(file, FIXTURES), 'utf8'))
    const version = (crd.spec.versions as Json[]).find((v) => v.name === served && v.served !== false)
    if (version === undefined) validate = `apiVersion ${resource.apiVersion} is not served by ${file}`
    else {
      const schema = strict(version.schema.openAPIV3Schema)
      // The API server adds the object's envelope to every CRD schema.
      schema.properties = {
        apiVersion: { type: 'string' },
        kind: { type: 'string' },
        metadata: { type: 'object' },
        ...schema.properties,
      }
      validate = new Ajv({ allErrors: true, strict: false, validateFormats: false }).compile(schema)
    }
    validators.set(key, validate)
  }
  if (typeof validate === 'string') return [validate]
  return validate(resource) ? [] : (validate.errors ?? []).map(describe)
}

function describe(error: ErrorObject): string {
  const where = error.instancePath === '' ? '/' : error.instancePath
  if (error.keyword === 'additionalProperties') {
    return `${where}: unknown field "${(error.params as { additionalProperty: string }).additionalProperty}"`
  }
  return `${where}: ${error.message ?? error.keyword}`
}

/** Every pod spec in a manifest: a workload's template, or a FlinkDeployment's pod templates. */
export function podSpecsOf(resource: Json): { where: string; spec: Json }[] {
  const name = `${resource.kind}/${resource.metadata?.name}`
  if (resource.kind === 'FlinkDeployment') {
    return ['podTemplate', 'jobManager', 'taskManager']
      .map((part) => (part === 'podTemplate' ? resource.spec.podTemplate : resource.spec[part]?.podTemplate))
      .flatMap((template, index) =>
        template?.spec === undefined
          ? []
          : [
              {
                where: `${name} ${['podTemplate', 'jobManager', 'taskManager'][index]}`,
                spec: template.spec,
              },
            ],
      )
  }
  const template = resource.spec?.template?.spec ?? resource.spec?.jobTemplate?.spec?.template?.spec
  return template === undefined ? [] : [{ where: name, spec: template }]
}

const SECCOMP_TYPES = new Set(['RuntimeDefault', 'Localhost'])
const HOST_NAMESPACES = ['hostNetwork', 'hostPID', 'hostIPC'] as const

/**
 * Pod Security Standards "restricted" (kubernetes.io/docs/concepts/security/pod-security-standards), plus two
 * rules of our own: a read-only root filesystem, and flink-guard's container with requests and a memory limit.
 */
export function restrictedProblems(pod: Json): string[] {
  const problems: string[] = []
  const podContext: Json = pod.securityContext ?? {}
  for (const key of HOST_NAMESPACES) if (pod[key] === true) problems.push(`${key} is true`)
  for (const volume of pod.volumes ?? []) {
    if (volume.hostPath !== undefined) problems.push(`volume ${volume.name} is a hostPath`)
  }
  const containers: Json[] = [...(pod.initContainers ?? []), ...(pod.containers ?? [])]
  for (const container of containers) {
    const at = `container ${container.name}`
    const context: Json = container.securityContext ?? {}
    const seccomp = context.seccompProfile?.type ?? podContext.seccompProfile?.type
    if (!SECCOMP_TYPES.has(seccomp)) problems.push(`${at}: no seccompProfile RuntimeDefault or Localhost`)
    if ((context.runAsNonRoot ?? podContext.runAsNonRoot) !== true)
      problems.push(`${at}: runAsNonRoot is not true`)
    if ((context.runAsUser ?? podContext.runAsUser) === 0) problems.push(`${at}: runAsUser is 0`)
    if (context.allowPrivilegeEscalation !== false)
      problems.push(`${at}: allowPrivilegeEscalation is not false`)
    if (context.privileged === true) problems.push(`${at}: privileged`)
    if (!(context.capabilities?.drop ?? []).includes('ALL'))
      problems.push(`${at}: capabilities do not drop ALL`)
    for (const added of context.capabilities?.add ?? []) {
      if (added !== 'NET_BIND_SERVICE') problems.push(`${at}: adds capability ${added}`)
    }
    for (const port of container.ports ?? []) {
      if (port.hostPort !== undefined && port.hostPort !== 0)
        problems.push(`${at}: hostPort ${port.hostPort}`)
    }
    if (context.readOnlyRootFilesystem !== true) problems.push(`${at}: readOnlyRootFilesystem is not true`)
    if (container.name === 'flink-guard') {
      const { requests = {}, limits = {} } = container.resources ?? {}
      if (requests.cpu === undefined || requests.memory === undefined || limits.memory === undefined) {
        problems.push(`${at}: needs cpu and memory requests and a memory limit`)
      }
    }
  }
  return problems
}

/**
 * Kubernetes core kinds, strictly: the models of @kubernetes/client-node (generated from the Kubernetes
 * OpenAPI, release-1.36) list every field of every type; a key no model lists is an unknown field.
 */
const CORE_KINDS: Readonly<Record<string, string>> = {
  'v1 ConfigMap': 'V1ConfigMap',
  'v1 Secret': 'V1Secret',
  'v1 Service': 'V1Service',
  'apps/v1 Deployment': 'V1Deployment',
  'networking.k8s.io/v1 NetworkPolicy': 'V1NetworkPolicy',
  'policy/v1 PodDisruptionBudget': 'V1PodDisruptionBudget',
}

interface Attribute {
  readonly baseName: string
  readonly type: string
}

type Model = { getAttributeTypeMap(): readonly Attribute[] }

/** Problems of a core-kind manifest; null when the kind is not one of CORE_KINDS. */
export function coreProblems(resource: Json, models: Record<string, unknown>): string[] | null {
  const type = CORE_KINDS[`${resource.apiVersion} ${resource.kind}`]
  if (type === undefined) return null
  const problems: string[] = []
  checkValue(resource, type, '', models, problems)
  return problems
}

/** A pod template's spec as a V1PodSpec (the FlinkDeployment's pod templates). */
export function podSpecProblems(spec: Json, models: Record<string, unknown>): string[] {
  const problems: string[] = []
  checkValue(spec, 'V1PodSpec', '', models, problems)
  return problems
}

const isObject = (value: unknown): value is Json =>
  value !== null && typeof value === 'object' && !Array.isArray(value)

function checkValue(
  value: unknown,
  type: string,
  at: string,
  models: Record<string, unknown>,
  problems: string[],
): void {
  const where = at === '' ? '/' : at
  const array = /^Array<(.+)>$/.exec(type)
  if (array !== null) {
    if (!Array.isArray(value)) problems.push(`${where}: must be an array`)
    else
      for (const [index, item] of value.entries())
        checkValue(item, array[1]!, `${at}/${index}`, models, problems)
    return
  }
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type)
  if (map !== null) {
    if (!isObject(value)) problems.push(`${where}: must be a map`)
    else
      for (const [key, item] of Object.entries(value))
        checkValue(item, map[1]!, `${at}/${key}`, models, problems)
    return
  }
  switch (type) {
    case 'any':
      return
    case 'string':
    case 'Date':
      if (typeof value !== 'string') problems.push(`${where}: must be a string`)
      return
    case 'number':
      if (typeof value !== 'number') problems.push(`${where}: must be a number`)
      return
    case 'boolean':
      if (typeof value !== 'boolean') problems.push(`${where}: must be a boolean`)
      return
    case 'IntOrString':
      if (typeof value !== 'string' && typeof value !== 'number')
        problems.push(`${where}: must be an integer or a string`)
      return
  }
  const model = models[type] as Model | undefined
  if (model?.getAttributeTypeMap === undefined) throw new Error(`no model for type ${type} at ${where}`)
  if (!isObject(value)) {
    problems.push(`${where}: must be an object`)
    return
  }
  const attributes = new Map(
    model.getAttributeTypeMap().map((attribute) => [attribute.baseName, attribute.type]),
  )
  for (const [key, item] of Object.entries(value)) {
    const attributeType = attributes.get(key)
    if (attributeType === undefined) problems.push(`${where}: unknown field "${key}"`)
    else checkValue(item, attributeType, `${at}/${key}`, models, problems)
  }
}

/**
 * Every schema problem of one manifest, as `kubectl apply --validate=strict` would find them: a custom resource
 * against its CRD, a core kind against the Kubernetes models, a FlinkDeployment's pod templates as pod specs
 * too. A kind with no schema here is a problem itself: nothing is let through unchecked.
 */
export function manifestProblems(resource: Json, models: Record<string, unknown>): string[] {
  if (resource.parseError !== undefined) return [`does not parse: ${resource.parseError}`]
  const problems = crdProblems(resource) ?? coreProblems(resource, models)
  if (problems === null) return [`no schema for ${resource.apiVersion} ${resource.kind}`]
  const podTemplates =
    resource.kind === 'FlinkDeployment'
      ? podSpecsOf(resource).flatMap(({ where, spec }) =>
          podSpecProblems(spec, models).map((problem) => `${where}: ${problem}`),
        )
      : []
  return [...problems, ...podTemplates]
}

/** A connection's source, as a NetworkPolicy sees it: its pod's labels and its namespace's. */
export interface Peer {
  readonly pod: Readonly<Record<string, string>>
  /** Absent: the policy's own namespace. */
  readonly namespace?: Readonly<Record<string, string>>
}

const matches = (selector: Json | undefined, labels: Readonly<Record<string, string>>): boolean =>
  Object.entries(selector?.matchLabels ?? {}).every(([key, value]) => labels[key] === value) &&
  (selector?.matchExpressions ?? []).length === 0

/**
 * Whether an ingress NetworkPolicy admits a TCP connection from `peer` to `port` of a pod it selects
 * (networking.k8s.io/v1 semantics: rules are ORed; within a rule, any `from` entry and any port; an entry with
 * both selectors needs both; `endPort` makes a range). Only matchLabels selectors: an expression fails closed.
 */
export function ingressAdmits(policy: Json, peer: Peer, port: number): boolean {
  return (policy.spec.ingress ?? []).some((rule: Json) => {
    const fromOk =
      rule.from === undefined ||
      rule.from.some((entry: Json) => {
        if (entry.ipBlock !== undefined) return false
        const namespaceOk =
          entry.namespaceSelector === undefined
            ? peer.namespace === undefined
            : matches(entry.namespaceSelector, peer.namespace ?? {})
        const podOk = entry.podSelector === undefined || matches(entry.podSelector, peer.pod)
        return namespaceOk && podOk
      })
    const portOk =
      rule.ports === undefined ||
      rule.ports.some(
        (p: Json) =>
          (p.protocol ?? 'TCP') === 'TCP' &&
          (p.port === undefined || (port >= p.port && port <= (p.endPort ?? p.port))),
      )
    return fromOk && portOk
  })
}

/** A Kubernetes object found in a Markdown file's ```yaml block, with where it was. */
export interface DocObject {
  readonly where: string
  readonly name: string
  readonly object: Json
}

/**
 * Every Kubernetes object (a YAML document with apiVersion and kind) in the ```yaml blocks of a Markdown text,
 * indented blocks (inside a list) included, several documents a block. A block that does not parse but names
 * an apiVersion and a kind is reported as an object with a `parseError`, so it cannot slip through.
 */
export function kubernetesObjectsIn(markdown: string, file: string): DocObject[] {
  const objects: DocObject[] = []
  for (const block of markdown.matchAll(/^( *)```yaml\n([\s\S]*?)^\1```$/gm)) {
    const indent = block[1]!.length
    const text = block[2]!
      .split('\n')
      .map((line) => line.slice(Math.min(indent, line.length - line.trimStart().length)))
      .join('\n')
    const line = markdown.slice(0, block.index).split('\n').length
    for (const document of parseAllDocuments(text)) {
      const where = `${file}:${line}`
      if (document.errors.length > 0) {
        if (/^apiVersion:/m.test(text) && /^kind:/m.test(text))
          objects.push({ where, name: 'unparsable', object: { parseError: document.errors[0]!.message } })
        continue
      }
      const object = document.toJS() as Json | null
      if (object?.apiVersion === undefined || object.kind === undefined) continue
      objects.push({ where, name: `${object.kind}/${object.metadata?.name}`, object })
    }
  }
  return objects
}
