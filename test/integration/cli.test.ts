import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { type AddressInfo, createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { request } from 'undici'
import { beforeAll, describe, expect, it } from 'vitest'
import { startStandin } from '../../src/standin/server.js'
import { assertBuilt, runCli, startCli, writeConfig } from './support/cli.js'
import { fixture } from './support/tls-client.js'

beforeAll(assertBuilt)

const { version: PACKAGE_VERSION } = JSON.parse(
  readFileSync(new URL('../../package.json', import.meta.url), 'utf8'),
) as { version: string }
const STARTED = /"msg":"flink-guard started"/
/** Lets requests without credentials in as viewers: these tests are about the process, not about auth. */
const ANONYMOUS_VIEWER = 'auth: { anonymous: { roles: [anyone] } }\nauthz: { roles: { anyone: viewer } }\n'

function startedUrls(output: string): { proxy: string; admin: string } {
  const line = output.split('\n').find((text) => STARTED.test(text))
  const { proxy, admin } = JSON.parse(line!) as { proxy: string; admin: string }
  return { proxy, admin }
}

describe('flink-guard command line', () => {
  it.each(['serve', 'check-config', 'standin', 'demo'])(
    '%s --help prints its usage and exits 0',
    async (command) => {
      const result = await runCli([command, '--help'])
      expect(result.code).toBe(0)
      expect(result.stdout).toContain(`Usage: flink-guard ${command}`)
    },
  )

  it.each(['--version', '-v', 'version'])("%s prints the package's version and exits 0", async (flag) => {
    const result = await runCli([flag])
    expect(result.code).toBe(0)
    expect(result.stdout).toBe(`flink-guard ${PACKAGE_VERSION}\n`)
  })

  it.each([
    ['the stand-in', 'the Flink REST stand-in cannot listen on 127.0.0.1:PORT (the port of upstream.url): '],
    ['the proxy', 'cannot listen: '],
  ])('demo with a port clash on %s prints one clean line, no stack trace', async (which, prefix) => {
    const taken = createServer()
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve))
    const port = (taken.address() as AddressInfo).port
    try {
      const dir = mkdtempSync(join(tmpdir(), 'fg-demo-'))
      const quickstart = readFileSync(new URL('../../config/quickstart.yaml', import.meta.url), 'utf8')
      const config = quickstart
        .replace('port: 8443', `port: ${which === 'the proxy' ? port : 0}`)
        .replace('port: 9250', 'port: 0')
        .replace('http://127.0.0.1:18081', `http://127.0.0.1:${which === 'the stand-in' ? port : 0}`)
      writeFileSync(join(dir, 'quickstart.yaml'), config)
      const result = await runCli(['demo', '--config', 'quickstart.yaml'], {}, dir)
      expect(result.code).toBe(1)
      expect(result.stderr).toBe(
        `flink-guard: ${prefix.replace('PORT', String(port))}listen EADDRINUSE: address already in use 127.0.0.1:${port}\n`,
      )
    } finally {
      taken.close()
    }
  })

  it('exits 2 for an unknown command or option, naming it', async () => {
    const unknownCommand = await runCli(['serv'])
    expect(unknownCommand.code).toBe(2)
    expect(unknownCommand.stderr).toContain('unknown command "serv"')
    const unknownOption = await runCli(['serve', '--confg', 'x.yaml'])
    expect(unknownOption.code).toBe(2)
    // One line, its quotes balanced (Node's own text ends in an unbalanced one).
    expect(unknownOption.stderr).toBe('flink-guard: unknown option "--confg" (--help lists the options)\n')
    expect(unknownOption.stderr).not.toMatch(/\n\s+at /)
  })

  it('check-config exits 2 and lists every problem with its key path, without a stack trace', async () => {
    const file = writeConfig('listen: { port: 99999 }\nupstream: { url: "ftp://x" }\nadmin: { prot: 1 }\n')
    for (const command of ['check-config', 'serve']) {
      const result = await runCli([command, '--config', file])
      expect(result.code).toBe(2)
      expect(result.stderr).toContain(`${file}: 4 problems`)
      expect(result.stderr).toContain('"auth" configures no authentication method')
      expect(result.stderr).toContain('"listen.port" must be at most 65535, got 99999')
      expect(result.stderr).toContain('"admin.prot" is not a known key')
      expect(result.stderr).toContain('"upstream.url" must be an http: or https: URL, got "ftp://x"')
      expect(result.stderr).not.toMatch(/\n\s+at /)
    }
  })

  it('check-config warns when flinkConf shows Flink listening beyond loopback, and --strict refuses it', async () => {
    const flinkConf = writeConfig('rest.bind-address: 0.0.0.0\nrest.port: 8081\n')
    const file = writeConfig(`flinkConf: ${flinkConf}\nauth: { anonymous: {} }\n`)
    const lenient = await runCli(['check-config', '--config', file])
    expect(lenient.code).toBe(0)
    expect(lenient.stderr).toContain("warning: Flink's rest.bind-address is 0.0.0.0, not loopback")
    expect(lenient.stdout).toContain('url: http://127.0.0.1:8081')
    const strict = await runCli(['check-config', '--strict', '--config', file])
    expect(strict.code).toBe(2)
    expect(strict.stderr).toContain('refused by --strict')
  })

  it('check-config --strict refuses a flinkConf with no rest.bind-address (Flink then binds every interface), and says so', async () => {
    const flinkConf = writeConfig('rest.port: 8081\n')
    const file = writeConfig(`flinkConf: ${flinkConf}\nauth: { anonymous: {} }\n`)
    const strict = await runCli(['check-config', '--strict', '--config', file])
    expect(strict.code).toBe(2)
    expect(strict.stderr).toContain(
      "sets no rest.bind-address: Flink's REST endpoint then binds every interface (0.0.0.0)",
    )
    expect(strict.stderr).toContain('1 warning(s), refused by --strict')
    const bound = writeConfig(
      `flinkConf: ${writeConfig('rest.bind-address: 127.0.0.1\n')}\nauth: { anonymous: {} }\n`,
    )
    expect((await runCli(['check-config', '--strict', '--config', bound])).code).toBe(0)
  })

  it("check-config warns when the upstream truststore's certificate (Flink's SSL recipe) does not name the upstream host, suggesting upstream.tls.servername", async () => {
    const trust = `truststore: ${fixture('rest.myhost.truststore')}, truststorePassword: rest_truststore_password`
    const loopback = writeConfig(
      `upstream: { url: "https://127.0.0.1:8081", tls: { ${trust} } }\nauth: { anonymous: {} }\n`,
    )
    const strict = await runCli(['check-config', '--strict', '--config', loopback])
    expect(strict.code).toBe(2)
    expect(strict.stderr).toContain(
      'warning: "upstream.url" connects to 127.0.0.1, which no certificate in "upstream.tls.truststore" names (DNS:myhost.company.org, IP Address:10.0.0.1)',
    )
    expect(strict.stderr).toContain('Set "upstream.tls.servername" to one of its DNS names')
    const named = writeConfig(
      `upstream: { url: "https://127.0.0.1:8081", tls: { ${trust}, servername: myhost.company.org } }\nauth: { anonymous: {} }\n`,
    )
    expect((await runCli(['check-config', '--strict', '--config', named])).code).toBe(0)
  })

  it('check-config --strict refuses plain HTTP on 0.0.0.0 with Basic auth, naming the key; without --strict it is a warning', async () => {
    const file = writeConfig(
      'listen: { host: 0.0.0.0, port: 0 }\nadmin: { port: 0 }\nupstream: { url: "http://127.0.0.1:8081" }\n' +
        'auth: { basic: { htpasswd: /nonexistent/users.htpasswd } }\n',
    )
    const strict = await runCli(['check-config', '--strict', '--no-files', '--config', file])
    expect(strict.code).toBe(2)
    expect(strict.stderr).toContain(
      'warning: "listen.host" is 0.0.0.0 without "tls": basic credentials cross the network in clear text',
    )
    expect(strict.stderr).toContain('1 warning(s), refused by --strict')
    const lenient = await runCli(['check-config', '--no-files', '--config', file])
    expect(lenient.code).toBe(0)
  })

  it('check-config --no-files lints a config whose ${env:} variables are unset and whose ${file:} files are absent; without it both are problems', async () => {
    const file = writeConfig(
      'upstream: { url: "http://127.0.0.1:8081" }\n' +
        'tls: { keystore: /nonexistent/rest.keystore, keystorePassword: "${env:FG_TEST_UNSET_PASSWORD}" }\n' +
        'auth: { basic: { htpasswd: /nonexistent/users.htpasswd }, jwt: { issuer: https://idp.example.com, audience: "${file:/nonexistent/audience}" } }\n',
    )
    const linted = await runCli(['check-config', '--no-files', '--config', file])
    expect(linted.code).toBe(0)
    expect(linted.stdout).toContain('valid')
    expect(linted.stdout).not.toContain('placeholder')
    const full = await runCli(['check-config', '--config', file])
    expect(full.code).toBe(2)
    expect(full.stderr).toContain(
      '"tls.keystorePassword" refers to environment variable FG_TEST_UNSET_PASSWORD, which is not set',
    )
    expect(full.stderr).toContain(
      '"auth.jwt.audience" refers to file /nonexistent/audience, which cannot be read (ENOENT)',
    )
    // serve never takes placeholders.
    expect((await runCli(['serve', '--config', file])).code).toBe(2)
  })

  it('check-config opens the files a config names: a wrong keystore password and a missing htpasswd are problems, --no-files skips them', async () => {
    const keystore = new URL('../fixtures/tls/rest.signed.keystore', import.meta.url).pathname
    const config = (password: string) =>
      writeConfig(
        `upstream: { url: "http://127.0.0.1:8081" }\ntls: { keystore: ${keystore}, keystorePassword: ${password} }\n` +
          'auth: { basic: { htpasswd: /nonexistent/users.htpasswd } }\n',
      )
    const wrong = config('wrong-password')
    const refused = await runCli(['check-config', '--config', wrong])
    expect(refused.code).toBe(2)
    expect(refused.stderr).toContain(`${wrong}: 2 problems`)
    expect(refused.stderr).toContain(`"tls.keystore" ${keystore}: the keystore password is wrong`)
    expect(refused.stderr).toContain(
      '"auth.basic.htpasswd": /nonexistent/users.htpasswd: cannot read (ENOENT)',
    )
    expect((await runCli(['check-config', '--no-files', '--config', wrong])).code).toBe(0)
    // The right password: only the htpasswd file is left to complain about.
    const right = await runCli(['check-config', '--config', config('rest_keystore_password')])
    expect(right.code).toBe(2)
    expect(right.stderr).toContain(': 1 problem\n')
    expect(right.stderr).not.toContain('tls.keystore')
  })

  it('a wrong keystore password that flinkConf brought is told in the Flink keys it came from, by check-config and serve', async () => {
    const keystore = new URL('../fixtures/tls/rest.signed.keystore', import.meta.url).pathname
    const flinkConf = writeConfig(
      'rest.bind-address: 127.0.0.1\nrest.port: 8081\nsecurity.ssl.rest.enabled: true\n' +
        `security.ssl.keystore: ${keystore}\nsecurity.ssl.rest.keystore-password: wrong\n`,
    )
    const file = writeConfig(
      `flinkConf: ${flinkConf}\nlisten: { port: 0 }\nadmin: { port: 0 }\n${ANONYMOUS_VIEWER}`,
    )
    const origin = `"tls.keystore" (from flinkConf: security.ssl.keystore, security.ssl.rest.keystore-password in ${flinkConf}) ${keystore}: the keystore password is wrong`
    const checked = await runCli(['check-config', '--config', file])
    expect(checked.code).toBe(2)
    expect(checked.stderr).toContain(origin)
    const served = await runCli(['serve', '--config', file])
    expect(served.code).toBe(2)
    expect(served.stderr).toContain(origin)
  })

  it('check-config prints the effective config with secrets masked', async () => {
    const file = writeConfig(
      'auth: { anonymous: {} }\nupstream: { url: "http://127.0.0.1:${env:FLINK_PORT}" }\n',
    )
    const result = await runCli(['check-config', '--config', file], { FLINK_PORT: '8081' })
    expect(result.code).toBe(0)
    expect(result.stdout).toContain('url: "********"')
    expect(result.stdout).not.toContain('8081')
    expect(result.stdout).toContain('maxBodyBytes: 2147483648')
  })

  it('serve reads FLINK_GUARD_CONFIG, and a missing file is one clear line', async () => {
    const result = await runCli(['serve'], { FLINK_GUARD_CONFIG: '/nonexistent/flink-guard.yaml' })
    expect(result.code).toBe(2)
    expect(result.stderr.trim()).toBe('flink-guard: /nonexistent/flink-guard.yaml: cannot read (ENOENT)')
  })

  it('standin and serve as processes: forwards, reports readiness, then 503 once Flink is gone', async () => {
    const standin = startCli(['standin', '--port', '0'])
    const [, standinUrl] = await standin.waitFor(/listening on (http:\/\/127\.0\.0\.1:\d+)/)
    const file = writeConfig(
      `listen: { port: 0 }\nadmin: { port: 0 }\nupstream: { url: "${standinUrl}" }\n${ANONYMOUS_VIEWER}`,
    )
    const proxy = startCli(['serve', '--config', file])
    try {
      await proxy.waitFor(STARTED)
      const urls = startedUrls(proxy.stdout())
      expect(proxy.stdout()).toContain(`"version":"${PACKAGE_VERSION}"`)

      const direct = await request(`${standinUrl}/overview`)
      const viaProxy = await request(`${urls.proxy}/overview`)
      expect(viaProxy.statusCode).toBe(200)
      expect(await viaProxy.body.json()).toEqual(await direct.body.json())
      expect((await request(`${urls.admin}/readyz`)).statusCode).toBe(200)

      standin.child.kill('SIGTERM')
      expect((await standin.finished).code).toBe(0)

      const notReady = await request(`${urls.admin}/readyz`)
      expect(notReady.statusCode).toBe(503)
      const failed = await request(`${urls.proxy}/overview`)
      expect(failed.statusCode).toBe(503)
      expect(failed.headers['x-flink-guard-error']).toBe('FG_ERR_UPSTREAM_UNAVAILABLE')
      expect(await failed.body.json()).toEqual({ errors: [expect.any(String)] })
    } finally {
      standin.child.kill('SIGKILL')
      proxy.child.kill('SIGTERM')
      await proxy.finished
    }
  })

  it('SIGTERM lets a slow in-flight request complete, refuses new connections, and exits 0', async () => {
    const standin = await startStandin()
    standin.responseDelayMs = 1_500
    const file = writeConfig(
      `listen: { port: 0 }\nadmin: { port: 0 }\nupstream: { url: "${standin.url}" }\n${ANONYMOUS_VIEWER}`,
    )
    const proxy = startCli(['serve', '--config', file])
    try {
      await proxy.waitFor(STARTED)
      const urls = startedUrls(proxy.stdout())
      const inFlight = request(`${urls.proxy}/overview`)
      await new Promise((resolve) => setTimeout(resolve, 300))
      proxy.child.kill('SIGTERM')
      await proxy.waitFor(/draining in-flight requests/)
      await expect(request(`${urls.proxy}/overview`)).rejects.toMatchObject({ code: 'ECONNREFUSED' })

      const response = await inFlight
      expect(response.statusCode).toBe(200)
      expect(await response.body.json()).toHaveProperty('flink-version')
      const finished = await proxy.finished
      expect(finished.code).toBe(0)
      expect(finished.stdout).toMatch(/"drained":true/)
    } finally {
      proxy.child.kill('SIGKILL')
      await standin.close()
    }
  })
})
