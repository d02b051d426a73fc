import { execFile } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Standin, startStandin } from '../../src/standin/server.js'
import { generateCertificates } from '../../src/tls/gen-certs.js'
import { startProxy, type TestProxy } from '../integration/support/proxy.js'

/**
 * Java's own TLS client against flink-guard's listener: bench/java/ResumingHttpsClient.java (run from source
 * by `java`), a new connection per request with `Connection: close` and the JDK's session cache, as Flink's
 * RestClient connects. The TLS side is flink-guard's alone, so the stand-in answers behind it. JSSE uses a
 * TLS 1.3 ticket once: resuming every reconnect needs the fresh ticket flink-guard sends on each resumption.
 */

const run = promisify(execFile)
const PASSWORD = 'changeit'
const certs = mkdtempSync(join(tmpdir(), 'fg-jsse-'))
generateCertificates({
  dir: certs,
  dns: ['localhost'],
  ips: ['127.0.0.1'],
  password: PASSWORD,
  clientName: 'jsse',
  validityDays: 1,
})

let standin: Standin
let proxy: TestProxy
beforeAll(async () => {
  standin = await startStandin()
  proxy = await startProxy(standin.url, {
    tls: { cert: join(certs, 'server.pem'), key: join(certs, 'server-key.pem') },
  })
})
afterAll(async () => {
  await proxy.close(1_000)
  await standin.close()
})

async function handshakes(): Promise<{ resumed: number; full: number }> {
  const text = await (await fetch(`${proxy.adminUrl}/metrics`)).text()
  const count = (resumed: string) =>
    Number(
      new RegExp(`^flink_guard_tls_handshakes_total\\{resumed="${resumed}"\\} (\\d+)`, 'm').exec(text)?.[1] ??
        0,
    )
  return { resumed: count('true'), full: count('false') }
}

describe("Java's client reconnecting per request", () => {
  it.each(['TLSv1.3', 'TLSv1.2'])('resumes %s on every reconnect after its first', async (version) => {
    const before = await handshakes()
    const port = new URL(proxy.proxyUrl).port
    // One thread, so no two connections race for the one cached session; 2 s of requests, bounded.
    const { stdout } = await run(
      'java',
      [
        'bench/java/ResumingHttpsClient.java',
        '127.0.0.1',
        port,
        '/config',
        join(certs, 'ca.truststore.p12'),
        PASSWORD,
        version,
        '1',
        '2',
      ],
      { timeout: 60_000 },
    )
    const client = JSON.parse(stdout) as { requests: number; errors: number; resumedByClient: number }
    const after = await handshakes()
    expect(client.errors).toBe(0)
    expect(client.requests).toBeGreaterThan(3)
    expect(after.full - before.full).toBe(1)
    expect(after.resumed - before.resumed).toBe(client.requests - 1)
    expect(client.resumedByClient).toBe(client.requests - 1)
  })
})
