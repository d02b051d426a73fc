/**
 * What a non-admin may not see in Flink's answers (the vendor guide: no absolute server paths to clients):
 * stack traces in `errors`, absolute paths in error messages, and the server-side directory in the
 * `filename` of a `/jars/upload` answer. Pure functions over Flink's parsed JSON.
 */

import { FLINK_ROUTES } from '../authz/routes.js'

/** An absolute path not part of a URL (`http://host/x`): its last segment is kept. */
const ABSOLUTE_PATH = /(?<![\w:/.~-])\/((?:[^\s/"':,;)]+\/)+)([^\s/"':,;)]*)/g

/** REST paths echoed in Flink's messages (`Not found: /jobs/…`) are the client's own and stay. */
const REST_NAMESPACES = new Set(['v1', ...FLINK_ROUTES.map((route) => route.template.split('/')[1]!)])

/** Flink puts a Java stack trace into `errors` as a second entry, or after the message on new lines. */
const STACK_TRACE = /\n\s*(?:at |Caused by:|\.\.\. \d+ more)/

/** A `file:` URI as Java prints one (`file:/opt/x.jar`, `file:///opt/x.jar`, `file://host/x`): its last segment is kept. */
const FILE_URI = /\bfile:(?:\/\/[^\s/"']*)?\/(?:[^\s/"':,;)]+\/)*([^\s/"':,;)]*)/gi
/** A Windows path: a drive (`C:\flink\log\x.log`, `C:/x`) or a UNC share (`\\host\share\x`). */
const WINDOWS_PATH = /(?:(?<![\w])[A-Za-z]:[\\/]|\\\\)(?:[^\s\\/"':,;)<>|?*]+[\\/])*([^\s\\/"':,;)<>|?*]*)/g
/** What is left of a Windows path whose directory had a space (`Program Files\flink\x.jar`). */
const BACKSLASH_PATH = /(?:[^\s\\"':,;)]+\\)+([^\s\\"':,;)]*)/g

export function stripPaths(text: string): string {
  return text
    .replace(FILE_URI, (_uri: string, last: string) => last)
    .replace(WINDOWS_PATH, (_path: string, last: string) => last)
    .replace(BACKSLASH_PATH, (_path: string, last: string) => last)
    .replace(ABSOLUTE_PATH, (path: string, directories: string, last: string) =>
      REST_NAMESPACES.has(directories.slice(0, directories.indexOf('/'))) ? path : last,
    )
}

function redactMessage(message: string): string {
  const traceAt = message.search(STACK_TRACE)
  const withoutTrace = traceAt === -1 ? message : message.slice(0, traceAt)
  // A multi-line entry whose first line names an exception class is a trace on its own.
  return stripPaths(withoutTrace.split('\n')[0]!.trim())
}

/** Returns the redacted body, or null when nothing needed to change. */
export function redactFlinkBody(body: unknown): unknown | null {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return null
  const record = body as Record<string, unknown>
  let changed = false
  const out: Record<string, unknown> = { ...record }
  if (Array.isArray(record.errors)) {
    const messages = record.errors
      .filter((entry): entry is string => typeof entry === 'string')
      .map((entry, index) => (index > 0 && STACK_TRACE.test(`\n${entry}`) ? '' : redactMessage(entry)))
      .filter((entry) => entry !== '')
    out.errors = messages.length > 0 ? messages : ['Internal server error.']
    changed = JSON.stringify(out.errors) !== JSON.stringify(record.errors)
  }
  if (typeof record.filename === 'string' && record.filename.includes('/')) {
    out.filename = record.filename.slice(record.filename.lastIndexOf('/') + 1)
    changed = true
  }
  return changed ? out : null
}
