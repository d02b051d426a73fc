import { existsSync, readFileSync, statSync } from 'node:fs'
import { basename, join } from 'node:path'
import { parse } from 'yaml'

/**
 * Flink's configuration file, read as Flink's GlobalConfiguration reads it: which file of a conf directory,
 * and each file's own parser. Values are kept as the text Flink would hand to a string option.
 */

export interface FlinkConf {
  /** Flat Flink keys (`security.ssl.rest.keystore`) to their text. */
  readonly entries: ReadonlyMap<string, string>
  readonly file: string
  /** flink-conf.yaml: only Flink 1.x reads that file, so 1.x rules apply. */
  readonly legacy: boolean
  readonly warnings: readonly string[]
}

const LEGACY_FILE = 'flink-conf.yaml'
const STANDARD_FILE = 'config.yaml'

/** Java's String.trim(): every char up to U+0020 at both ends, nothing else (no NBSP); Jackson strips the same. */
export function javaTrim(text: string): string {
  let start = 0
  let end = text.length
  while (start < end && text.charCodeAt(start) <= 0x20) start++
  while (end > start && text.charCodeAt(end - 1) <= 0x20) end--
  return text.slice(start, end)
}

/**
 * Flink 1.x's flink-conf.yaml (GlobalConfiguration.loadLegacyYAMLResource): per line, everything after the
 * first `#` is a comment (inside a value too), the key ends at the first ": " (so `key:value` is skipped),
 * quotes stay part of the value, no nesting, a line with an empty key or value is skipped, the last wins.
 */
export function parseLegacyFlinkConf(text: string): Map<string, string> {
  const entries = new Map<string, string>()
  for (const line of text.split(/\r\n|\r|\n/)) {
    const content = javaTrim(line.split('#', 1)[0]!)
    const separator = content.indexOf(': ')
    if (separator === -1) continue
    const key = javaTrim(content.slice(0, separator))
    const value = javaTrim(content.slice(separator + 2))
    if (key !== '' && value !== '') entries.set(key, value)
  }
  return entries
}

/**
 * Flink's config.yaml (1.19+ and 2.x): standard YAML, nested maps joined with `.`. A list stays the YAML text
 * `[a, b]`, as Flink's YamlParserUtils.toYAMLString makes it: a string option such as security.ssl.algorithms
 * then sees `[a` and ` b]`, not two names.
 */
export function parseStandardFlinkConf(text: string): Map<string, string> {
  const entries = new Map<string, string>()
  const walk = (node: unknown, prefix: string) => {
    if (node !== null && typeof node === 'object' && !Array.isArray(node)) {
      for (const [key, value] of Object.entries(node)) walk(value, prefix === '' ? key : `${prefix}.${key}`)
    } else if (prefix !== '' && node !== null && node !== undefined) {
      entries.set(prefix, Array.isArray(node) ? `[${node.map(String).join(', ')}]` : String(node))
    }
  }
  walk(parse(text, { uniqueKeys: false }) ?? {}, '')
  return entries
}

/**
 * Reads a Flink conf directory or one of its files. Of a directory Flink 1.x reads flink-conf.yaml when it
 * exists and config.yaml only otherwise, while 2.x reads config.yaml alone: with both present this follows
 * 1.x and says so, since only naming the file settles it. Throws with a clear message.
 */
export function readFlinkConf(path: string): FlinkConf {
  const warnings: string[] = []
  let file = path
  if (existsSync(path) && statSync(path).isDirectory()) {
    const [legacy, standard] = [LEGACY_FILE, STANDARD_FILE].map((name) => join(path, name)) as [
      string,
      string,
    ]
    if (existsSync(legacy) && existsSync(standard)) {
      warnings.push(
        `${path} holds both ${LEGACY_FILE} and ${STANDARD_FILE}: Flink 1.x reads ${LEGACY_FILE} (read here), Flink 2.x reads only ${STANDARD_FILE}. Point flinkConf at the file your Flink reads, or remove the other.`,
      )
    }
    file = existsSync(legacy) ? legacy : existsSync(standard) ? standard : ''
    if (file === '') throw new Error(`has neither ${STANDARD_FILE} nor ${LEGACY_FILE}`)
  }
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    throw new Error(`cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`)
  }
  const legacy = basename(file) === LEGACY_FILE
  const entries = legacy ? parseLegacyFlinkConf(text) : parseStandardFlinkConf(text)
  return { entries, file, legacy, warnings }
}
