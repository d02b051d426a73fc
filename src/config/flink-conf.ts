import { existsSync, readFileSync, statSync } from 'node:fs'
import { basename, join } from 'node:path'
import { parse } from 'yaml'

/**
 * Flink's own configuration as a source of defaults (`flinkConf:`). It describes Flink, and flink-guard uses
 * it twice: to reach Flink (rest.* and security.ssl.rest.* on the upstream side) and as defaults for its own
 * listener (the same keystore, cipher suites and protocol, so clients keep the certificate they trust).
 * Keys set in flink-guard's config always win.
 */

export type FlinkConf = ReadonlyMap<string, string>

const LEGACY_FILE = 'flink-conf.yaml'
const STANDARD_FILE = 'config.yaml'
const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/i

/** Flink < 1.19's flat format: `key: value` per line, `#` starts a comment (Flink's GlobalConfiguration). */
export function parseLegacyFlinkConf(text: string): Map<string, string> {
  const entries = new Map<string, string>()
  for (const line of text.split(/\r?\n/)) {
    const content = line.split('#', 1)[0]!.trim()
    if (content === '') continue
    const colon = content.indexOf(': ')
    if (colon <= 0) continue
    entries.set(content.slice(0, colon).trim(), content.slice(colon + 2).trim())
  }
  return entries
}

/** Flink 1.19+ `config.yaml`: standard YAML, nested keys flattened to Flink's dotted names, lists comma-joined. */
export function parseStandardFlinkConf(text: string): Map<string, string> {
  const entries = new Map<string, string>()
  const walk = (node: unknown, prefix: string) => {
    if (node !== null && typeof node === 'object' && !Array.isArray(node)) {
      for (const [key, value] of Object.entries(node)) walk(value, prefix === '' ? key : `${prefix}.${key}`)
    } else if (prefix !== '' && node !== null && node !== undefined) {
      entries.set(prefix, Array.isArray(node) ? node.map(String).join(',') : String(node))
    }
  }
  walk(parse(text) ?? {}, '')
  return entries
}

/** Reads a Flink config dir (config.yaml preferred, else flink-conf.yaml) or file. Throws with a clear message. */
export function readFlinkConf(path: string): FlinkConf {
  let file = path
  if (existsSync(path) && statSync(path).isDirectory()) {
    file =
      [STANDARD_FILE, LEGACY_FILE]
        .map((name) => join(path, name))
        .find((candidate) => existsSync(candidate)) ?? ''
    if (file === '') throw new Error(`has neither ${STANDARD_FILE} nor ${LEGACY_FILE}`)
  }
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    throw new Error(`cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`)
  }
  return basename(file) === LEGACY_FILE ? parseLegacyFlinkConf(text) : parseStandardFlinkConf(text)
}

type Raw = Record<string, unknown>

const isTrue = (value: string | undefined) => value?.toLowerCase() === 'true'

function section(raw: Raw, key: string): Raw {
  const existing = raw[key]
  if (existing !== null && typeof existing === 'object' && !Array.isArray(existing)) return existing as Raw
  const created: Raw = {}
  raw[key] = created
  return created
}

/** Sets `target[key]` from Flink's `flinkKey` unless flink-guard's config set it. */
function fill(target: Raw, key: string, value: unknown): void {
  if (target[key] === undefined && value !== undefined) target[key] = value
}

export interface FlinkConfResult {
  readonly config: Raw
  /** Said at start; `check-config --strict` fails on them. */
  readonly warnings: string[]
}

/** Merges Flink's settings into a raw flink-guard config as defaults (a new object; the input is untouched). */
export function applyFlinkConf(input: Raw, flink: FlinkConf): FlinkConfResult {
  const config = structuredClone(input)
  const warnings: string[] = []
  const get = (key: string) => flink.get(key)
  const sslRest = isTrue(get('security.ssl.rest.enabled'))
  const mutual = sslRest && isTrue(get('security.ssl.rest.authentication-enabled'))

  const bind = get('rest.bind-address')
  if (bind !== undefined && !LOOPBACK.test(bind)) {
    warnings.push(
      `Flink's rest.bind-address is ${bind}, not loopback: clients can reach Flink around flink-guard. Set rest.bind-address: 127.0.0.1 (or the pod-local interface).`,
    )
  }

  // (a) Reaching Flink.
  const upstream = section(config, 'upstream')
  const host =
    [bind, get('rest.address')].find((value) => value !== undefined && value !== '0.0.0.0') ?? '127.0.0.1'
  const port = get('rest.port') ?? '8081'
  fill(upstream, 'url', `${sslRest ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${port}`)
  if (sslRest) {
    const tls = section(upstream, 'tls')
    fill(tls, 'truststore', get('security.ssl.rest.truststore'))
    fill(tls, 'truststorePassword', get('security.ssl.rest.truststore-password'))
    const verify = get('security.ssl.verify-hostname')
    if (verify !== undefined) fill(tls, 'verifyHostname', isTrue(verify))
    const pin = get('security.ssl.rest.cert.fingerprint')
    if (pin !== undefined)
      fill(
        tls,
        'pinnedFingerprints',
        pin.split(',').map((value) => value.trim()),
      )
    if (mutual) {
      fill(tls, 'keystore', get('security.ssl.rest.keystore'))
      fill(tls, 'keystorePassword', get('security.ssl.rest.keystore-password'))
      fill(tls, 'keyPassword', get('security.ssl.rest.key-password'))
    }
  }

  // (b) flink-guard's own listener, so clients keep seeing the certificate they already trust.
  if (sslRest && get('security.ssl.rest.keystore') !== undefined) {
    const tls = section(config, 'tls')
    if (tls.cert === undefined && tls.key === undefined) {
      fill(tls, 'keystore', get('security.ssl.rest.keystore'))
      fill(tls, 'keystorePassword', get('security.ssl.rest.keystore-password'))
      fill(tls, 'keyPassword', get('security.ssl.rest.key-password'))
    }
    fill(tls, 'ciphers', get('security.ssl.algorithms'))
    const protocol = get('security.ssl.protocol')
    if (protocol === 'TLSv1.2' || protocol === 'TLSv1.3') fill(tls, 'minVersion', protocol)
    if (mutual) {
      fill(tls, 'truststore', get('security.ssl.rest.truststore'))
      fill(tls, 'truststorePassword', get('security.ssl.rest.truststore-password'))
      fill(tls, 'clientAuth', 'require')
    }
  }
  return { config, warnings }
}
