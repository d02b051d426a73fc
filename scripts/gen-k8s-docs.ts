/**
 * Writes the plain-container operator manifest and the generated regions of docs/deploy-kubernetes.md from
 * docker/k8s/. Run: npm run docs (test/unit/k8s-docs.test.ts keeps both current).
 */
import { writeFileSync } from 'node:fs'
import { KUBERNETES_DOC, PLAIN_CONTAINER, renderKubernetesDoc, renderPlainContainer } from './k8s-docs.js'

for (const [path, text] of [
  [PLAIN_CONTAINER, renderPlainContainer()],
  [KUBERNETES_DOC, renderKubernetesDoc()],
] as const) {
  const target = new URL(`../${path}`, import.meta.url)
  writeFileSync(target, text)
  console.log(`wrote ${target.pathname}`)
}
