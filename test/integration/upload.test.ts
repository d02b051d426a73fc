import { execFile } from 'node:child_process'
import { rmSync } from 'node:fs'
import { dirname } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Standin, startStandin } from '../../src/standin/server.js'
import { type MultipartFile, writeMultipartJar } from './support/multipart-file.js'
import { startProxy, type TestProxy } from './support/proxy.js'

const run = promisify(execFile)
const GIB = 1024 * 1024 * 1024

describe('a 1 GiB jar upload through the proxy with curl -T', () => {
  let standin: Standin
  let proxy: TestProxy
  let upload: MultipartFile

  beforeAll(async () => {
    standin = await startStandin()
    proxy = await startProxy(standin.url)
    upload = await writeMultipartJar(GIB)
  }, 120_000)
  afterAll(async () => {
    await proxy.close(1_000)
    await standin.close()
    rmSync(dirname(upload.path), { recursive: true, force: true })
  })

  it('arrives byte-exact at Flink, after the proxy answered Expect: 100-continue', async () => {
    const { stdout, stderr } = await run(
      'curl',
      [
        '-sS',
        '-v',
        '-T',
        upload.path,
        '-X',
        'POST',
        '-H',
        `Content-Type: multipart/form-data; boundary=${upload.boundary}`,
        '-w',
        '\n%{http_code}',
        `${proxy.proxyUrl}/jars/upload`,
      ],
      { maxBuffer: 1024 * 1024 },
    )
    expect(stderr).toMatch(/> Expect: 100-continue/i)
    expect(stderr).toMatch(/< HTTP\/1\.1 100 Continue/i)
    const [body, status] = stdout.trimEnd().split('\n')
    expect(status).toBe('200')
    expect(JSON.parse(body!)).toMatchObject({
      status: 'success',
      filename: expect.stringMatching(/_big-job\.jar$/),
    })
    expect(standin.record.uploads).toHaveLength(1)
    expect(standin.record.uploads[0]).toMatchObject({
      originalName: 'big-job.jar',
      bytes: GIB,
      sha256: upload.jarSha256,
    })
    rmSync(standin.record.uploads[0]!.serverPath, { force: true })
  }, 180_000)
})
