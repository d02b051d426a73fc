import { readdirSync, readFileSync } from 'node:fs'
// The generated models only: the package's entry point loads an undici that needs a newer Node.
import * as k8s from '@kubernetes/client-node/dist/gen/models/all.js'
import { describe, expect, it } from 'vitest'
import {
  KUBERNETES_DOC,
  PLAIN_CONTAINER,
  renderKubernetesDoc,
  renderPlainContainer,
} from '../../scripts/k8s-docs.js'
import { kubernetesObjectsIn, manifestProblems, podSpecsOf, restrictedProblems } from './support/k8s.js'

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8')
const models = k8s as unknown as Record<string, unknown>

describe('docker/k8s/ is the one source of truth (regenerate: npm run docs)', () => {
  it(`${PLAIN_CONTAINER} is the native-sidecar manifest with flink-guard moved into containers`, () => {
    expect(read(PLAIN_CONTAINER)).toBe(renderPlainContainer())
  })

  it(`${KUBERNETES_DOC}'s excerpts are what the manifests generate`, () => {
    expect(read(KUBERNETES_DOC)).toBe(renderKubernetesDoc())
  })

  it('rewrites a region whose text went stale, and refuses a region naming an object that is not there', () => {
    const region = (body: string) =>
      `<!-- from docker/k8s/gateway.yaml PodDisruptionBudget/flink-guard-gateway /spec -->\n${body}<!-- end -->`
    const fresh = renderKubernetesDoc(region(''))
    expect(fresh).toContain('minAvailable: 1')
    expect(renderKubernetesDoc(region('```yaml\nspec: { minAvailable: 0 }\n```\n'))).toBe(fresh)
    expect(() =>
      renderKubernetesDoc('<!-- from docker/k8s/gateway.yaml PodDisruptionBudget/no-such -->\n<!-- end -->'),
    ).toThrow('no PodDisruptionBudget/no-such in docker/k8s/gateway.yaml')
  })
})

describe('every Kubernetes object in a yaml block of the docs and the README, strictly', () => {
  const markdown = [
    'README.md',
    ...readdirSync(new URL('../../docs/', import.meta.url))
      .filter((name) => name.endsWith('.md'))
      .map((name) => `docs/${name}`),
  ]
  const objects = markdown.flatMap((file) => kubernetesObjectsIn(read(file), file))

  it('finds them, in list items too', () => {
    expect(objects.map(({ name }) => name)).toEqual(
      expect.arrayContaining([
        'Certificate/flink-operator-cert',
        'Certificate/flink-rest-tls',
        'NetworkPolicy/orders-jobmanager',
        'PodMonitor/orders-flink-guard',
        'PodDisruptionBudget/flink-guard-gateway',
        'NetworkPolicy/flink-rest-only-from-flink-guard',
      ]),
    )
  })

  it.each(objects)('$where $name is valid, and its pods pass Pod Security "restricted"', ({ object }) => {
    expect(manifestProblems(object, models)).toEqual([])
    for (const { spec } of podSpecsOf(object)) expect(restrictedProblems(spec)).toEqual([])
  })

  it.each([
    [
      'a misspelt field',
      'apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: { name: x }\nspec: { minAvailabel: 1 }',
      ['/spec: unknown field "minAvailabel"'],
    ],
    [
      'a kind it has no schema for',
      'apiVersion: example.com/v1\nkind: Widget\nmetadata: { name: x }',
      ['no schema for example.com/v1 Widget'],
    ],
    [
      'a block that does not parse',
      'apiVersion: v1\nkind: ConfigMap\ndata: { a: [ }',
      [expect.stringContaining('does not parse')],
    ],
  ])('refuses a doc block with %s, inside a list item', (_what, yaml, problems) => {
    const doc = `1. Apply:\n\n   \`\`\`yaml\n${yaml.replace(/^/gm, '   ')}\n   \`\`\`\n`
    const [found] = kubernetesObjectsIn(doc, 'x.md')
    expect(manifestProblems(found!.object, models)).toEqual(problems)
  })
})
