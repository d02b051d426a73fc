import { readFileSync } from 'node:fs'
import {
  Document,
  isMap,
  isScalar,
  isSeq,
  type Node,
  Pair,
  parseAllDocuments,
  Scalar,
  YAMLMap,
  YAMLSeq,
} from 'yaml'

/**
 * One source of truth for Kubernetes: the manifests in docker/k8s/. From them come the plain-container
 * variant of the operator sidecar (for operator CRDs before 1.9 and Kubernetes before 1.29) and every
 * generated region of docs/deploy-kubernetes.md. `npm run docs` writes both; test/unit/k8s-docs.test.ts keeps
 * them equal to what this renders.
 */

const ROOT = new URL('../', import.meta.url)
const read = (path: string) => readFileSync(new URL(path, ROOT), 'utf8')

export const NATIVE_SIDECAR = 'docker/k8s/flink-deployment.yaml'
export const PLAIN_CONTAINER = 'docker/k8s/flink-deployment-plain-container.yaml'
export const KUBERNETES_DOC = 'docs/deploy-kubernetes.md'

const PLAIN_HEADER = `# GENERATED from ${NATIVE_SIDECAR} by \`npm run docs\` (scripts/k8s-docs.ts): edit that file, not this one.
# The fallback for operator CRDs before 1.9.0 or Kubernetes before 1.29, which have no native sidecars:
# flink-guard is an ordinary container beside flink-main-container. What it loses (docs/deploy-kubernetes.md):
# the start order (Flink may start first; readiness still gates every client) and the shutdown order (both
# containers get SIGTERM at once, so flink-guard no longer outlives Flink). Apply with:
# kubectl apply -f ${PLAIN_CONTAINER}`

const OLD_OPERATOR_FLINK = { image: 'flink:1.19.2-scala_2.12-java17', flinkVersion: 'v1_19' } as const

/** As the manifests are written: long flow maps on one line, padded (`{ a: 1 }`); flow lists not (`["ALL"]`). */
const STYLE = { lineWidth: 0 } as const
const written = (text: string) => `${text.replaceAll(/\[ ([^[\]\n]*) \]/g, '[$1]').trimEnd()}\n`

/** The native-sidecar manifest with flink-guard moved from initContainers into containers. */
export function renderPlainContainer(): string {
  const documents = parseAllDocuments(read(NATIVE_SIDECAR))
  // The header is the comment before the file's first key: replace it.
  const firstKey = (documents[0]!.contents as YAMLMap).items[0]!.key as Node
  firstKey.commentBefore = PLAIN_HEADER.split('\n')
    .map((line) => line.replace(/^#/, ''))
    .join('\n')
  const deployment = documents.find((document) => document.get('kind') === 'FlinkDeployment')!
  deployment.setIn(['spec', 'image'], OLD_OPERATOR_FLINK.image)
  deployment.setIn(['spec', 'flinkVersion'], OLD_OPERATOR_FLINK.flinkVersion)
  const spec = deployment.get('spec', true) as YAMLMap
  const image = spec.items.find((pair) => (pair.key as Scalar).value === 'image')!.key as Node
  image.commentBefore =
    ' Flink 1.19, the newest an operator before 1.9 runs (its CRD knows flinkVersion up to v1_19); with a\n' +
    ' newer operator on a Kubernetes before 1.29, keep your Flink.'
  const pod = ['spec', 'jobManager', 'podTemplate', 'spec']
  const initContainers = deployment.getIn([...pod, 'initContainers'], true) as YAMLSeq<YAMLMap>
  const guard = initContainers.items.find((container) => container.get('name') === 'flink-guard')!
  guard.delete('restartPolicy')
  const args = guard.items.find((pair) => (pair.key as Scalar).value === 'args')!.key as Node
  args.commentBefore = ' An ordinary container: started beside Flink, stopped with it.'
  initContainers.items.splice(initContainers.items.indexOf(guard), 1)
  if (initContainers.items.length === 0) (deployment.getIn(pod, true) as YAMLMap).delete('initContainers')
  ;(deployment.getIn([...pod, 'containers'], true) as YAMLSeq).items.push(guard)
  return written(documents.map((document) => document.toString(STYLE)).join(''))
}

/**
 * A generated region: `<!-- from <file>[ <Kind>/<name>[ <pointer>]] -->` up to `<!-- end -->`. A whole file,
 * one object of it, or the part of that object at a JSON pointer.
 */
const REGION = /^( *)<!-- from (\S+)(?: (\S+)\/(\S+)(?: (\S+))?)? -->\n[\s\S]*?^ *<!-- end -->$/gm

/** The doc with every generated region rendered anew from the manifests. */
export function renderKubernetesDoc(doc = read(KUBERNETES_DOC)): string {
  const texts = new Map<string, string>([[PLAIN_CONTAINER, renderPlainContainer()]])
  const textOf = (file: string) => {
    if (!texts.has(file)) texts.set(file, read(file))
    return texts.get(file)!
  }
  return doc.replace(REGION, (...match: (string | undefined)[]) => {
    const [, indent = '', file = '', kind, name, pointer] = match
    const marker = ['<!-- from', file, kind === undefined ? '' : `${kind}/${name}`, pointer ?? '', '-->']
    const body = kind === undefined ? textOf(file) : objectExcerpt(file, textOf(file), kind, name!, pointer)
    const lines = [
      marker.filter((part) => part !== '').join(' '),
      '```yaml',
      ...body.trimEnd().split('\n'),
      '```',
    ]
    return [...lines, '<!-- end -->'].map((line) => (line === '' ? '' : indent + line)).join('\n')
  })
}

function objectExcerpt(file: string, text: string, kind: string, name: string, pointer?: string): string {
  const document = parseAllDocuments(text).find(
    (candidate) => candidate.get('kind') === kind && candidate.getIn(['metadata', 'name']) === name,
  )
  if (document === undefined) throw new Error(`${KUBERNETES_DOC}: no ${kind}/${name} in ${file}`)
  return excerpt(document, pointer === undefined ? [] : pointer.split('/').slice(1))
}

/** The text at `path` of a manifest: a string as it is (a ConfigMap's file), a node under its own key. */
function excerpt(document: Document, path: string[]): string {
  // A whole object, without the `---` that separated it from the one before in its file.
  if (path.length === 0) return written(document.toString(STYLE)).replace(/^---\n/, '')
  const node = document.getIn(path, true)
  if (node === undefined) throw new Error(`no /${path.join('/')} in ${document.get('kind')}`)
  if (isScalar(node) && typeof node.value === 'string') return node.value
  const key = path.at(-1)!
  const parent = document.getIn(path.slice(0, -1), true)
  const out = new Document()
  const root = new YAMLMap()
  if (isSeq(parent)) {
    // An item of a list shows as that list with the one item, under the list's key.
    const listKey = path.at(-2)!
    const seq = new YAMLSeq()
    seq.items.push(node)
    root.items.push(new Pair(new Scalar(listKey), seq))
  } else if (isMap(parent)) {
    root.items.push(parent.items.find((pair) => (pair.key as Scalar).value === key)!)
  }
  out.contents = root
  return written(out.toString(STYLE))
}
