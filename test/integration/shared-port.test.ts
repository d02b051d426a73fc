import { createServer } from 'node:net'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Standin, startStandin } from '../../src/standin/server.js'
import { assertBuilt, runCli, writeConfig } from './support/cli.js'
import { freePort } from './support/free-port.js'
import { startProxy, type TestProxy } from './support/proxy.js'

/**
 * The sidecar shape on one machine: the stand-in plays Flink bound to 127.0.0.1:P, flink-guard listens on
 * 127.0.0.2:P (the pod IP in a pod), and both serve at once. Every existing client keeps the port it knows.
 */

let port: number
let flink: Standin
let proxy: TestProxy

beforeAll(async () => {
  assertBuilt()
  port = await freePort()
  flink = await startStandin({ host: '127.0.0.1', port })
  proxy = await startProxy(flink.url, { listen: { host: '127.0.0.2', port } })
})
afterAll(async () => {
  await proxy?.close(1_000)
  await flink?.close()
})

describe('flink-guard on Flink’s port, another address', () => {
  it('both listen on port P, and a request to 127.0.0.2:P goes through flink-guard to Flink on 127.0.0.1:P', async () => {
    expect(proxy.proxyUrl).toBe(`http://127.0.0.2:${port}`)
    const before = flink.record.count
    const response = await request(`http://127.0.0.2:${port}/overview`)
    expect(response.statusCode).toBe(200)
    expect(await response.body.json()).toMatchObject({ 'flink-version': expect.any(String) })
    // flink-guard's own answer headers, and Flink saw the forwarded request from the proxy.
    expect(response.headers['x-request-id']).toEqual(expect.any(String))
    expect(flink.record.count).toBe(before + 1)
    expect(flink.record.last?.headers['x-forwarded-for']).toBe('127.0.0.1')
  })

  it('Flink itself still answers on 127.0.0.1:P, without flink-guard in the way', async () => {
    const response = await request(`http://127.0.0.1:${port}/overview`)
    expect(response.statusCode).toBe(200)
    expect(response.headers['x-request-id']).toBeUndefined()
    await response.body.dump()
  })

  it('a wildcard bind on P collides with Flink’s (why the config refuses it)', async () => {
    const server = createServer()
    const error = await new Promise<NodeJS.ErrnoException>((resolve) => {
      server.once('error', resolve)
      server.listen(port, '0.0.0.0')
    })
    expect(error.code).toBe('EADDRINUSE')
  })
})

describe('check-config --strict on the shared port', () => {
  const config = (host: string) =>
    writeConfig(
      `listen: { host: "${host}", port: ${port} }\nupstream: { url: "http://127.0.0.1:${port}" }\nauth: { anonymous: {} }\n`,
    )

  it.each(['0.0.0.0', '::'])('refuses the wildcard %s with exit 2 and the reason', async (host) => {
    const result = await runCli(['check-config', '--strict', '--no-files', '--config', config(host)])
    expect(result.code).toBe(2)
    expect(result.stderr).toContain(
      `"listen.host" must not be a wildcard (${host}) on Flink's own port ${port}`,
    )
  })

  it('refuses flink-guard listening on Flink’s own address and port', async () => {
    const result = await runCli(['check-config', '--strict', '--no-files', '--config', config('127.0.0.1')])
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('is "upstream.url" itself')
  })

  it('accepts the pod IP from ${env:POD_IP}', async () => {
    const result = await runCli(
      ['check-config', '--strict', '--no-files', '--config', config('${env:POD_IP}')],
      {
        POD_IP: '10.244.0.17',
      },
    )
    expect(result.stderr).toBe('')
    expect(result.code).toBe(0)
  })
})
