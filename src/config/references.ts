import { readFileSync } from 'node:fs'

/**
 * Secrets by reference: `${env:NAME}` and `${file:/path}` inside any string value are replaced before
 * validation, so example configs never hold a secret inline. A missing variable or unreadable file is an
 * error naming the key, the variable or file.
 */

const REFERENCE = /\$\{(env|file):([^}]*)\}/g

export interface ResolvedReferences {
  value: unknown
  problems: string[]
  /** Dotted key paths whose value came from a reference; masked when the config is printed. */
  secretPaths: Set<string>
}

/**
 * What an unresolved reference becomes under `check-config --no-files`, where neither the secrets' files nor
 * the deployment's environment exist: long enough for every length rule a secret has.
 */
export const REFERENCE_PLACEHOLDER = 'placeholder-for-check-config-no-files-0123456789abcdef'

export interface ReferenceOptions {
  /** Read no file and require no variable: each reference that is not set becomes REFERENCE_PLACEHOLDER. */
  readonly placeholders?: boolean
}

export function resolveReferences(
  document: unknown,
  env: NodeJS.ProcessEnv = process.env,
  options: ReferenceOptions = {},
): ResolvedReferences {
  const problems: string[] = []
  const secretPaths = new Set<string>()

  const resolveString = (text: string, path: string): string =>
    text.replace(REFERENCE, (_match, kind: string, name: string) => {
      secretPaths.add(path)
      if (options.placeholders === true) return env[name] ?? REFERENCE_PLACEHOLDER
      if (kind === 'env') {
        const value = env[name]
        if (value === undefined)
          problems.push(`"${path}" refers to environment variable ${name}, which is not set`)
        return value ?? ''
      }
      try {
        // Secret files (Kubernetes Secrets, Docker secrets) end with a newline that is not part of the secret.
        return readFileSync(name, 'utf8').replace(/\r?\n$/, '')
      } catch (err) {
        const reason = (err as NodeJS.ErrnoException).code ?? 'unreadable'
        problems.push(`"${path}" refers to file ${name}, which cannot be read (${reason})`)
        return ''
      }
    })

  const walk = (node: unknown, path: string): unknown => {
    if (typeof node === 'string') return resolveString(node, path)
    if (Array.isArray(node)) return node.map((item, index) => walk(item, `${path}[${index}]`))
    if (node !== null && typeof node === 'object') {
      return Object.fromEntries(
        Object.entries(node).map(([key, value]) => [key, walk(value, path === '' ? key : `${path}.${key}`)]),
      )
    }
    return node
  }

  return { value: walk(document, ''), problems, secretPaths }
}
