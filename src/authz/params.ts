/**
 * Path parameter validation (ENDPOINTS.md "Notes for the proxy", note 3).
 *
 * A request that matches a route's shape but whose parameters fail here is refused with
 * FG_ERR_PATH_PARAM_INVALID (400) and never reaches Flink. Values arrive decoded once (canonical-path.ts);
 * every string rule also refuses `/`, `\` and `%`, and all but the jar id any `..`, so a second decoding
 * downstream has nothing to find (CVE-2020-17519: `/jobmanager/logs/..%252f..%252fetc%252fpasswd`).
 */

export interface ParamRule {
  readonly test: (value: string) => boolean
  /** Completes "path parameter :x must be ..." in refusal reasons. */
  readonly description: string
}

const HEX_32 = /^[0-9a-f]{32}$/
const INT_64 = /^(?:0|[1-9][0-9]{0,18})$/
const INT_32 = /^(?:0|[1-9][0-9]{0,9})$/
const INT_64_MAX = '9223372036854775807'
const INT_32_MAX = 2_147_483_647
/** Flink ResourceIDs: YARN container ids, Kubernetes pod names, `host:port-xxxxxx` on standalone. */
const RESOURCE_ID = /^[A-Za-z0-9._:-]{1,256}$/
/**
 * 1.20's OperatorIDPathParameter takes 32 hex digits; 2.x's OperatorUidPathParameter any string, the uid the
 * client gave the operator (`dataStreamCollect_<n>` for collect()). Flink's RestClient puts it into the path
 * unencoded, so a uid a client can use at all is made of URL path characters; these are the safe ones.
 */
const OPERATOR_ID = /^[A-Za-z0-9._:~-]{1,256}$/
/**
 * A plain file name: no separators, no `%`, no control characters, not hidden (no leading `.`).
 * Spaces, `+` and parentheses occur in uploaded jar names (`<uuid>_my job (1).jar`).
 */
const FILE_NAME = /^[A-Za-z0-9_~+()-][A-Za-z0-9._~+() -]{0,254}$/
/**
 * Jar ids are the stored file names, `<uuid>_<name>.jar`: JarUploadHandler prefixes a UUID to the uploaded
 * file's name, which FileUploadHandler cuts after its last `/` and keeps otherwise as the client sent it
 * (spaces, `+`, `'`, Unicode, `..` inside a name: test/flink/routes.test.ts uploads such names to real Flink).
 * Refused: `/` and `\` (separators on Linux and Windows), `%` (the canonical path already refuses an encoded
 * one), control, format and line-separator characters (`\p{C}`, `\p{Zl}`, `\p{Zp}`: nothing that spoofs a
 * log line or hides text), a leading `.` (Flink's ids start with the UUID, so `.` and `..` never qualify)
 * and names over 255 UTF-8 bytes (Linux NAME_MAX: Flink could not have stored them).
 */
const JAR_ID = /^[^./\\%\p{C}\p{Zl}\p{Zp}][^/\\%\p{C}\p{Zl}\p{Zp}]*\.jar$/u
const NAME_MAX_BYTES = 255
const noDotDot = (value: string) => !value.includes('..')

const hex32: ParamRule = { test: (v) => HEX_32.test(v), description: '32 lowercase hexadecimal digits' }

const int64: ParamRule = {
  test: (v) => INT_64.test(v) && (v.length < INT_64_MAX.length || v <= INT_64_MAX),
  description: 'a non-negative 64-bit integer in decimal',
}

const int32: ParamRule = {
  test: (v) => INT_32.test(v) && Number(v) <= INT_32_MAX,
  description: 'a non-negative 32-bit integer in decimal',
}

const resourceId: ParamRule = {
  test: (v) => RESOURCE_ID.test(v) && noDotDot(v),
  description: 'a resource id of letters, digits, ".", "_", ":" and "-"',
}

const operatorId: ParamRule = {
  test: (v) => OPERATOR_ID.test(v) && noDotDot(v),
  description: 'an operator id of letters, digits, ".", "_", ":", "~" and "-"',
}

const fileName: ParamRule = {
  test: (v) => FILE_NAME.test(v) && noDotDot(v),
  description: 'a plain file name (no "/", "\\", "..", "%" or leading ".")',
}

const jarId: ParamRule = {
  test: (v) => JAR_ID.test(v) && Buffer.byteLength(v) <= NAME_MAX_BYTES,
  description:
    'a stored jar file name ending in ".jar" (no "/", "\\", "%", control characters or leading ".")',
}

/** Keyed by the parameter name as written in the route templates of `routes.ts`. */
export const PARAM_RULES: Readonly<Record<string, ParamRule>> = Object.freeze({
  jobid: hex32,
  vertexid: hex32,
  triggerid: hex32,
  datasetid: hex32,
  applicationid: hex32,
  rescaleuuid: hex32,
  checkpointid: int64,
  subtaskindex: int32,
  attempt: int32,
  taskmanagerid: resourceId,
  operatorid: operatorId,
  jarid: jarId,
  filename: fileName,
})

export function paramRule(name: string): ParamRule | undefined {
  return Object.hasOwn(PARAM_RULES, name) ? PARAM_RULES[name] : undefined
}

/** False for a parameter name with no rule: an unknown parameter is never trusted. */
export function isValidParam(name: string, value: string): boolean {
  return paramRule(name)?.test(value) ?? false
}
