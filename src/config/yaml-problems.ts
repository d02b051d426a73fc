import type { YAMLError } from 'yaml'

/** `${env:…}` or `${file:…}` not inside quotes: in a flow mapping `{ }` its braces are YAML's own syntax. */
const UNQUOTED_REFERENCE = /(^|[\s:,[{])(\$\{(?:env|file):[^}\s]*\})/

/**
 * The problems of a YAML text that does not parse. One mistake often cascades (an unquoted `${file:…}` in
 * `{ }` gave 53 errors), so only the first is shown, with its line and a caret under the place; the rest
 * are counted. The unquoted reference, the commonest cause, gets its fix spelled out.
 */
export function yamlProblems(text: string, errors: readonly YAMLError[]): string[] {
  const first = errors[0]!
  const lineNumber = first.linePos?.[0].line
  const line = lineNumber === undefined ? undefined : text.split(/\r?\n/)[lineNumber - 1]
  const rest = errors.length - 1
  const more =
    rest > 0 ? ` (and ${rest} more YAML error${rest === 1 ? '' : 's'} after it, likely caused by it)` : ''
  const reference = line === undefined ? null : UNQUOTED_REFERENCE.exec(line)
  if (reference !== null && /[{[]/.test(line!)) {
    return [
      `YAML: line ${lineNumber}: ${reference[2]} must be quoted inside { } or [ ] (its braces are YAML syntax there): write "${reference[2]}"\n\n${line}\n${' '.repeat(line!.indexOf(reference[2]!))}^`,
    ]
  }
  // The library's message ends with "at line L, column C:" and, with prettyErrors, the line and a caret.
  const [headline, ...snippet] = first.message.trimEnd().split('\n')
  return [[`YAML: ${headline}${more}`, ...snippet].join('\n')]
}
