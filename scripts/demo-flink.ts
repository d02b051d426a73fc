/**
 * `npm run demo:flink`: a real Apache Flink session cluster (the LTS line, FLINK_VERSION to change it) with
 * the EndlessJob running, and flink-guard in front of it over HTTPS with the quick start's login, all on
 * 127.0.0.1. Needs Java 17 and Maven: flink-it/ is built first, and the first build downloads Flink from Maven
 * Central. Prints the URL, the login, a curl line and a Flink CLI line that need no Flink installation.
 * Ctrl-C (SIGINT) or SIGTERM stops the proxy and both JVMs.
 */
import { spawnSync } from 'node:child_process'
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { parse, stringify } from 'yaml'
import { QUICKSTART_CONFIG } from '../src/cli/demo.js'
import { DEMO_STATE_DIR, demoCertificates, demoCredentials } from '../src/cli/demo-state.js'
import { onShutdownSignal } from '../src/cli/lifecycle.js'
import { validateConfig } from '../src/config/load.js'
import { createLogger } from '../src/observability/logger.js'
import { type RunningServer, startServer } from '../src/server.js'
import { runEndlessJob } from '../test/flink/support/endless-job.js'
import {
  FLINK_VERSION,
  type FlinkBuild,
  type FlinkCluster,
  startFlinkCluster,
} from '../test/flink/support/flink.js'
import { cliJavaArgs } from '../test/flink/support/flink-cli.js'

const PROXY_PORT = Number(process.env.FG_DEMO_PORT ?? 8443)
const TRUSTSTORE_PASSWORD = 'changeit'

let cluster: FlinkCluster | undefined
let server: RunningServer | undefined
// Registered first: a Ctrl-C while Flink starts still ends the process through exit, whose handler in the
// Flink harness kills the JVMs already spawned.
onShutdownSignal(async () => {
  await server?.close()
  await cluster?.stop()
  return 0
})

const user = await demoCredentials()
const ca = demoCertificates()
process.stdout.write(
  `Starting Apache Flink ${FLINK_VERSION} (building flink-it/ with Maven; the first run downloads Flink)...\n`,
)
cluster = await startFlinkCluster()
const job = await runEndlessJob(cluster)

// The quick start's config (TLS from .flink-guard/tls, the demo user as admin), in front of this Flink.
const quickstart = parse(readFileSync(QUICKSTART_CONFIG, 'utf8'))
const { config } = validateConfig(
  {
    ...quickstart,
    listen: { ...quickstart.listen, port: PROXY_PORT },
    admin: { ...quickstart.admin, port: 0 },
    upstream: { ...quickstart.upstream, url: cluster.restUrl },
  },
  'demo:flink',
)
server = await startServer(config, createLogger(process.env.FG_DEMO_LOG_LEVEL ?? 'warn'))
// The certificate names localhost: print the URL a browser, curl and the Flink CLI will verify.
const publicUrl = server.proxyUrl.replace('//127.0.0.1:', '//localhost:')
const cliDir = flinkCliDir(ca, cluster.build)
const basic = Buffer.from(`${user.user}:${user.password}`).toString('base64')

process.stdout.write(
  [
    `flink-guard is running in front of a real Apache Flink ${cluster.build.version} (development only).`,
    `  Flink REST endpoint (upstream): ${cluster.restUrl}`,
    `  flink-guard proxy:              ${publicUrl}/`,
    `  running job:                    ${job.jobId} (flink-guard-endless)`,
    '',
    `Log in as "${user.user}" with password "${user.password}" (an admin; kept in ${DEMO_STATE_DIR}/).`,
    `The certificate is signed by a development CA made on first start: ${DEMO_STATE_DIR}/tls/ca.pem`,
    'Try:',
    `  curl -s --cacert ${DEMO_STATE_DIR}/tls/ca.pem -u ${user.user}:${user.password} ${publicUrl}/jobs/overview`,
    'The Flink CLI through flink-guard (no Flink installation needed; the config is in the directory named):',
    `  FLINK_CONF_DIR=${quote(cliDir)} FLINK_REST_CLIENT_HEADERS=${quote(`Authorization:Basic ${basic}`)} ` +
      `java @${quote(join(cliDir, 'java.args'))} list -m ${publicUrl}`,
    '',
    'Press Ctrl-C to stop.',
    '',
  ].join('\n'),
)

/**
 * A conf directory for Flink's CLI (FLINK_CONF_DIR) that trusts the demo CA, and a java argument file
 * (`java @file`) holding the CliFrontend command line of the flink-it classpath.
 */
function flinkCliDir(caPem: string, build: FlinkBuild): string {
  const dir = resolve(DEMO_STATE_DIR, 'flink-cli')
  mkdirSync(dir, { recursive: true })
  const truststore = join(dir, 'truststore.p12')
  // Made again on every start, so it always holds the current CA. keytool marks the entry as trusted, which
  // Java's PKCS12 reader requires of a certificate without a key.
  rmSync(truststore, { force: true })
  const imported = spawnSync(
    'keytool',
    [
      '-importcert',
      '-noprompt',
      '-alias',
      'flink-guard-demo-ca',
      '-file',
      caPem,
      '-keystore',
      truststore,
      '-storetype',
      'PKCS12',
      '-storepass',
      TRUSTSTORE_PASSWORD,
    ],
    { encoding: 'utf8' },
  )
  if (imported.status !== 0)
    throw new Error(`keytool -importcert failed: ${imported.stdout}${imported.stderr}`)
  writeFileSync(
    join(dir, 'config.yaml'),
    stringify({
      'security.ssl.rest.enabled': true,
      'security.ssl.rest.truststore': truststore,
      'security.ssl.rest.truststore-password': TRUSTSTORE_PASSWORD,
    }),
  )
  // The java launcher's argument-file syntax: one argument a line, quoted, backslash escapes.
  const argFile = cliJavaArgs(build).map((arg) => `"${arg.replace(/["\\]/g, '\\$&')}"\n`)
  writeFileSync(join(dir, 'java.args'), argFile.join(''))
  return dir
}

/** POSIX shell single quotes, so a path with spaces pastes as one word. */
function quote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`
}
