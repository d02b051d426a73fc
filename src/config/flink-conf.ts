import type { FlinkConf } from './flink-conf-file.js'

export { type FlinkConf, readFlinkConf } from './flink-conf-file.js'

/**
 * Flink's own configuration as a source of defaults (`flinkConf:`). It describes Flink, and flink-guard uses
 * it twice: to reach Flink as Flink's REST client would (rest.*, security.ssl.rest.* on the upstream side)
 * and as defaults for its own listener, which takes the REST server's place (the same keystore, and with
 * mutual auth the same truststore, pin, protocols and cipher suites), so clients keep what they trust.
 * Keys set in flink-guard's config always win.
 */

/** What Flink makes of the REST keys: each option with its fallback and deprecated keys resolved. */
export interface FlinkRest {
  readonly restAddress: string | null
  readonly bindAddress: string | null
  /** rest.bind-port as the ports RestServerEndpoint tries in order; null when Flink cannot parse it. */
  readonly bindPorts: readonly number[] | null
  readonly restSsl: boolean
  readonly mutual: boolean
  readonly keystore: string | null
  readonly keystorePassword: string | null
  readonly keyPassword: string | null
  readonly truststore: string | null
  readonly truststorePassword: string | null
  readonly fingerprint: string | null
  readonly protocols: readonly string[]
  readonly ciphers: readonly string[]
  /** Whether Flink's REST client checks the server's host name. */
  readonly verifyHostname: boolean
  /** The Flink key each store setting was read from (an option's fallback key when that was the one set). */
  readonly storeKeys: Readonly<Record<StoreSetting, string>>
  /** Where this reading may not be the one of the Flink line in use. */
  readonly warnings: readonly string[]
}

type StoreSetting = 'keystore' | 'keystorePassword' | 'keyPassword' | 'truststore' | 'truststorePassword'

/** SecurityOptions' defaults in the released 1.20.5 and 2.3.0 (FLINK-39022 for the suites). */
const DEFAULT_PROTOCOL = 'TLSv1.2'
const DEFAULT_ALGORITHMS = 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384'
const DEFAULT_PORT = '8081'
/** Ports reported by resolveFlinkRest: enough to tell one port from a range. */
const PORTS_SHOWN = 3
const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/i
const WILDCARD = /^(0\.0\.0\.0|::|\[::\])$/

const isTrue = (value: string | undefined) => value?.toLowerCase() === 'true'

/** The first of `keys` set, as Flink's Configuration.get walks an option's fallback and deprecated keys. */
function first(conf: FlinkConf, ...keys: string[]): string | undefined {
  for (const key of keys) {
    const value = conf.entries.get(key)
    if (value !== undefined) return value
  }
  return undefined
}

/** Flink's NetUtils.getPortRangeFromString: "8081", "50100-50200", "50100,50102" or a mix; null if invalid. */
export function portRange(value: string, limit = Number.POSITIVE_INFINITY): number[] | null {
  const ports: number[] = []
  const number = (text: string) => (/^\+?\d+$/.test(text) && Number(text) <= 65_535 ? Number(text) : null)
  for (const part of value.trim().split(',')) {
    const range = part.trim()
    const dash = range.indexOf('-')
    const start = number(dash === -1 ? range : range.slice(0, dash))
    const end = dash === -1 ? start : number(range.slice(dash + 1))
    if (start === null || end === null) return null
    for (let port = start; port <= end && ports.length < limit; port++) ports.push(port)
  }
  return ports
}

/** Reads the REST and SSL keys as Flink does (RestOptions, SecurityOptions, SSLUtils). */
export function resolveFlinkRest(conf: FlinkConf): FlinkRest {
  const warnings = [...conf.warnings]
  const get = (...keys: string[]) => first(conf, ...keys) ?? null
  const storeKeys = {} as Record<StoreSetting, string>
  const store = (setting: StoreSetting, ...keys: string[]) => {
    storeKeys[setting] = keys.find((key) => conf.entries.has(key)) ?? keys[0]!
    return get(...keys)
  }
  // 1.x falls back to the deprecated security.ssl.enabled; 2.x removed it. flink-conf.yaml means 1.x.
  const restEnabled = conf.entries.get('security.ssl.rest.enabled')
  const sslEnabled = conf.entries.get('security.ssl.enabled')
  if (restEnabled === undefined && sslEnabled !== undefined && !conf.legacy) {
    warnings.push(
      `${conf.file} sets security.ssl.enabled but not security.ssl.rest.enabled: Flink 1.x then serves REST over TLS as ${sslEnabled} says (followed here), Flink 2.x ignores it. Set security.ssl.rest.enabled.`,
    )
  }
  const restSsl = isTrue(restEnabled ?? sslEnabled)
  for (const key of ['security.ssl.protocol', 'security.ssl.algorithms']) {
    if (conf.entries.get(key)?.startsWith('[')) {
      warnings.push(
        `${conf.file} gives ${key} as a YAML list: Flink reads it as the text ${conf.entries.get(key)} and splits that on commas. Write one comma-separated string.`,
      )
    }
  }
  const fingerprint = get('security.ssl.rest.cert.fingerprint')
  return {
    restAddress: get('rest.address', 'jobmanager.rpc.address'),
    bindAddress: get('rest.bind-address', 'web.address', 'jobmanager.web.address'),
    bindPorts: portRange(
      first(conf, 'rest.bind-port', 'rest.port', 'web.port', 'jobmanager.web.port') ?? DEFAULT_PORT,
      PORTS_SHOWN,
    ),
    restSsl,
    mutual: restSsl && isTrue(conf.entries.get('security.ssl.rest.authentication-enabled')),
    keystore: store('keystore', 'security.ssl.rest.keystore', 'security.ssl.keystore'),
    keystorePassword: store(
      'keystorePassword',
      'security.ssl.rest.keystore-password',
      'security.ssl.keystore-password',
    ),
    keyPassword: store('keyPassword', 'security.ssl.rest.key-password', 'security.ssl.key-password'),
    truststore: store('truststore', 'security.ssl.rest.truststore', 'security.ssl.truststore'),
    truststorePassword: store(
      'truststorePassword',
      'security.ssl.rest.truststore-password',
      'security.ssl.truststore-password',
    ),
    fingerprint,
    // SSLUtils splits both on "," and trims nothing.
    protocols: (get('security.ssl.protocol') ?? DEFAULT_PROTOCOL).split(','),
    ciphers: (get('security.ssl.algorithms') ?? DEFAULT_ALGORITHMS).split(','),
    // 1.x's REST client never checks the name; 2.x has security.ssl.rest.verify-hostname (default false),
    // honoured from a config.yaml, which may be either line's. security.ssl.verify-hostname reaches neither.
    verifyHostname: !conf.legacy && isTrue(conf.entries.get('security.ssl.rest.verify-hostname')),
    storeKeys,
    warnings,
  }
}

type Raw = Record<string, unknown>

function section(raw: Raw, key: string): Raw {
  const existing = raw[key]
  if (existing !== null && typeof existing === 'object' && !Array.isArray(existing)) return existing as Raw
  const created: Raw = {}
  raw[key] = created
  return created
}

/** Sets `target[key]` unless flink-guard's config set it. */
function fill(target: Raw, key: string, value: unknown): void {
  if (target[key] === undefined && value !== undefined && value !== null) target[key] = value
}

export interface FlinkConfResult {
  readonly config: Raw
  /** Said at start; `check-config --strict` fails on them. */
  readonly warnings: string[]
  /** Each store key filled from Flink (`tls.keystore`) → the Flink keys it came from and their file. */
  readonly origins: Readonly<Record<string, string>>
}

/**
 * The pins of security.ssl.rest.cert.fingerprint as Flink's (Netty's) FingerprintTrustManagerFactory takes
 * them: SHA-1 only, hex with any colons, split on "," with no trimming. Throws on one Flink would refuse.
 */
function sha1Pins(fingerprint: string): string[] {
  return fingerprint.split(',').map((entry) => {
    const hex = /^[0-9a-f:]+$/i.test(entry) ? entry.replace(/:/g, '') : ''
    if (hex.length !== 40) {
      throw new Error(
        `sets security.ssl.rest.cert.fingerprint to "${fingerprint}": Flink refuses "${entry}" (SHA-1 in hex, colons optional, comma-separated without spaces)`,
      )
    }
    return `sha1:${hex}`
  })
}

/** The lowest TLS version flink-guard can offer of Flink's protocol list (it has no TLS 1.0/1.1). */
function lowestVersion(protocols: readonly string[]): 'TLSv1.2' | 'TLSv1.3' | undefined {
  if (protocols.includes('TLSv1.2')) return 'TLSv1.2'
  return protocols.includes('TLSv1.3') ? 'TLSv1.3' : undefined
}

/** The highest: Flink's SSLEngine enables exactly the listed protocols, so TLSv1.2 alone means no TLS 1.3. */
function highestVersion(protocols: readonly string[]): 'TLSv1.2' | 'TLSv1.3' | undefined {
  if (protocols.includes('TLSv1.3')) return 'TLSv1.3'
  return protocols.includes('TLSv1.2') ? 'TLSv1.2' : undefined
}

/**
 * Merges Flink's settings into a raw flink-guard config as defaults (a new object; the input is untouched).
 * Throws, with the reason, where Flink's settings cannot be followed.
 */
export function applyFlinkConf(input: Raw, conf: FlinkConf): FlinkConfResult {
  const config = structuredClone(input)
  const flink = resolveFlinkRest(conf)
  const warnings = [...flink.warnings]
  const origins: Record<string, string> = {}
  /** Fills a store and its password from Flink; a problem with them is then told in Flink's keys. */
  const fillStore = (tls: Raw, at: string, file: StoreSetting, ...passwords: StoreSetting[]) => {
    const filled = [file, ...passwords].filter(
      (setting) => tls[setting] === undefined && flink[setting] !== null,
    )
    for (const setting of filled) tls[setting] = flink[setting]
    if (filled.length > 0) {
      origins[`${at}.${file}`] =
        `${filled.map((setting) => flink.storeKeys[setting]).join(', ')} in ${conf.file}`
    }
  }
  const fillKeystore = (tls: Raw, at: string) =>
    fillStore(tls, at, 'keystore', 'keystorePassword', 'keyPassword')
  const bind = flink.bindAddress ?? undefined
  if (bind === undefined) {
    // RestServerEndpoint.start(): with no rest.bind-address it calls bootstrap.bind(port), every interface.
    warnings.push(
      `${conf.file} sets no rest.bind-address: Flink's REST endpoint then binds every interface (0.0.0.0), so clients can reach Flink around flink-guard. Set rest.bind-address: 127.0.0.1 (or the pod-local interface).`,
    )
  } else if (!LOOPBACK.test(bind)) {
    warnings.push(
      `Flink's rest.bind-address is ${bind}, not loopback: clients can reach Flink around flink-guard. Set rest.bind-address: 127.0.0.1 (or the pod-local interface).`,
    )
  }
  // Flink's client code reads the truststore only as a pair with its password, and only then the pin.
  if ((flink.truststore === null) !== (flink.truststorePassword === null)) {
    throw new Error(
      'sets only one of security.ssl.rest.truststore and its password (or security.ssl.truststore*): Flink refuses that',
    )
  }
  const trusted = flink.truststore !== null
  const pins = trusted && flink.fingerprint !== null ? sha1Pins(flink.fingerprint) : undefined
  if (flink.restSsl && !trusted && flink.fingerprint !== null) {
    warnings.push(
      'security.ssl.rest.cert.fingerprint is ignored without security.ssl.rest.truststore and its password, by Flink and by flink-guard',
    )
  }

  // (a) Reaching Flink where its REST endpoint listens, as Flink's REST client would.
  const upstream = section(config, 'upstream')
  if (upstream.url === undefined) {
    const ports = flink.bindPorts
    if (ports === null || ports.length !== 1 || ports[0] === 0) {
      const bindPort = first(conf, 'rest.bind-port', 'rest.port', 'web.port', 'jobmanager.web.port')
      throw new Error(
        `sets rest.bind-port to "${bindPort}": Flink listens on the first free port of it, which flink-guard cannot know. Set upstream.url.`,
      )
    }
    const host = [bind, flink.restAddress ?? undefined].find(
      (value) => value !== undefined && !WILDCARD.test(value),
    )
    const name = host ?? '127.0.0.1'
    upstream.url = `${flink.restSsl ? 'https' : 'http'}://${name.includes(':') ? `[${name}]` : name}:${ports[0]}`
  }
  if (flink.restSsl) {
    const tls = section(upstream, 'tls')
    if (trusted) {
      fillStore(tls, 'upstream.tls', 'truststore', 'truststorePassword')
      fill(tls, 'pinnedFingerprints', pins)
      // Trust anchored in Flink's own truststore and no name check, as Flink's REST client. Without a
      // truststore flink-guard keeps checking names: then system CAs are the only anchor.
      fill(tls, 'verifyHostname', flink.verifyHostname)
    } else if (flink.verifyHostname) {
      fill(tls, 'verifyHostname', true)
    }
    if (flink.mutual) fillKeystore(tls, 'upstream.tls')
  }

  // (b) flink-guard's own listener in the REST server's place, so clients keep seeing the certificate they
  // trust. Flink's server restricts protocols and suites, and checks the pin, only with mutual auth.
  if (flink.restSsl && flink.keystore !== null) {
    const tls = section(config, 'tls')
    if (tls.cert === undefined && tls.key === undefined) fillKeystore(tls, 'tls')
    if (flink.mutual && trusted && tls.clientAuth !== 'none') {
      fillStore(tls, 'tls', 'truststore', 'truststorePassword')
      fill(tls, 'clientAuth', 'require')
      fill(tls, 'pinnedFingerprints', pins)
      fill(tls, 'ciphers', flink.ciphers.join(','))
      fill(tls, 'minVersion', lowestVersion(flink.protocols))
      fill(tls, 'maxVersion', highestVersion(flink.protocols))
    }
  }
  return { config, warnings, origins }
}
