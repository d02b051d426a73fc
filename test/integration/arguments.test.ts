import { execFile } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { promisify } from 'node:util'
import { FormData, request } from 'undici'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { type Standin, startStandin } from '../../src/standin/server.js'
import { startProxy, type TestProxy } from './support/proxy.js'

/**
 * authz.arguments and limits.uploads over real sockets: what a savepoint, stop, disposal or jar run carries is judged before a byte
 * reaches Flink (the stand-in's record proves it), and an allowed body reaches Flink byte for byte.
 * test/flink/arguments.test.ts does the same against a real Flink and its CLI.
 */

const run = promisify(execFile)
let standin: Standin
let proxy: TestProxy
let unruled: TestProxy

const ARGUMENTS = [
  {
    roles: ['team-a'],
    savepointDirs: ['s3://flink/team-a/'],
    entryClasses: ['com.example.teama.*'],
    maxParallelism: 4,
  },
]

beforeAll(async () => {
  standin = await startStandin()
  // The caller is team-a, an admin (the disposal needs one): authz.arguments binds admins as well.
  const base = {
    auth: { anonymous: { roles: ['team-a'] } },
    authz: { roles: { 'team-a': 'admin' } },
  }
  proxy = await startProxy(standin.url, { ...base, authz: { ...base.authz, arguments: ARGUMENTS } })
  unruled = await startProxy(standin.url, base)
})
afterAll(async () => {
  await Promise.all([proxy.close(1_000), unruled.close(1_000)])
  await standin.close()
})
beforeEach(() => standin.record.reset())

async function post(
  path: string,
  body: string | undefined,
  via = proxy,
  headers: Record<string, string> = {},
) {
  const response = await request(`${via.proxyUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    ...(body === undefined ? {} : { body }),
  })
  const text = await response.body.text()
  return { status: response.statusCode, text, code: response.headers['x-flink-guard-error'] }
}

const job = () => standin.state.addJob(`job-${Math.random()}`, 'RUNNING')

describe('a savepoint', () => {
  it('to an allowed directory reaches Flink with the exact bytes sent', async () => {
    const body = '{"target-directory":"s3://flink/team-a/sp-1","cancel-job":false}'
    const response = await post(`/jobs/${job().id}/savepoints`, body)
    expect(response.status).toBe(202)
    expect(standin.record.count).toBe(1)
    expect(standin.record.last!.bodyBytes).toBe(Buffer.byteLength(body))
  })

  it('without a directory (Flink’s state.savepoints.dir) is allowed, with an empty body too', async () => {
    expect((await post(`/jobs/${job().id}/savepoints`, '{"cancel-job":false}')).status).toBe(202)
    expect((await post(`/jobs/${job().id}/savepoints`, undefined)).status).toBe(202)
    expect(standin.record.count).toBe(2)
  })

  it.each([
    's3://flink/team-b/sp-1',
    'file:///etc/flink',
    's3://flink/team-a/../team-b/sp',
    's3://flink/team-a/%2e%2e/team-b',
  ])('to %s is refused before Flink sees it, naming the rule', async (target) => {
    const response = await post(
      `/jobs/${job().id}/savepoints`,
      JSON.stringify({ 'target-directory': target }),
    )
    expect(response.status).toBe(403)
    expect(response.code).toBe('FG_ERR_AUTHZ_ARGUMENT_DENIED')
    expect(JSON.parse(response.text).errors[0]).toMatch(/authz\.arguments\[0\]: target-directory/)
    expect(standin.record.count).toBe(0)
    const audit = proxy.logs.filter((line) => line.msg === 'audit').at(-1)?.audit
    expect(audit).toMatchObject({ allowed: false, denial: 'FG_ERR_AUTHZ_ARGUMENT_DENIED', status: 403 })
  })

  it('with the directory named twice is refused as malformed (which copy would Flink take?)', async () => {
    const response = await post(
      `/jobs/${job().id}/savepoints`,
      '{"target-directory":"s3://flink/team-a/x","target-directory":"file:///etc"}',
    )
    expect(response.status).toBe(400)
    expect(response.code).toBe('FG_ERR_REQUEST_MALFORMED')
    expect(standin.record.count).toBe(0)
  })

  it.each([
    ['not JSON', '{"target-directory":'],
    ['a JSON array', '[]'],
    ['a JSON string', '"s3://flink/team-a/"'],
  ])('whose body is %s is refused as malformed', async (_what, body) => {
    expect((await post(`/jobs/${job().id}/savepoints`, body)).status).toBe(400)
    expect(standin.record.count).toBe(0)
  })

  it('with a body over 64 KiB is refused with 413', async () => {
    const body = JSON.stringify({ 'target-directory': `s3://flink/team-a/${'x'.repeat(70_000)}` })
    const response = await post(`/jobs/${job().id}/savepoints`, body)
    expect(response.status).toBe(413)
    expect(standin.record.count).toBe(0)
  })

  it('sent chunked is judged the same', async () => {
    const id = job().id
    const chunked = (target: string) =>
      request(`${proxy.proxyUrl}/jobs/${id}/savepoints`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: Readable.from(['{"target-directory":', JSON.stringify(target), '}']),
      })
    const refused = await chunked('file:///etc')
    await refused.body.text()
    expect(refused.statusCode).toBe(403)
    const allowed = await chunked('s3://flink/team-a/chunked')
    await allowed.body.text()
    expect(allowed.statusCode).toBe(202)
    expect(standin.record.count).toBe(1)
  })

  it('from curl with Expect: 100-continue is refused after the body is invited, and reads its 403', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fg-arguments-'))
    const file = join(dir, 'body.json')
    writeFileSync(file, JSON.stringify({ 'target-directory': 'file:///etc', pad: 'x'.repeat(2048) }))
    const { stdout } = await run('curl', [
      '-sS',
      '-o',
      '/dev/null',
      '-w',
      '%{http_code}',
      '-H',
      'Expect: 100-continue',
      '-H',
      'content-type: application/json',
      '--data-binary',
      `@${file}`,
      `${proxy.proxyUrl}/jobs/${job().id}/savepoints`,
    ])
    expect(stdout).toBe('403')
    expect(standin.record.count).toBe(0)
  })
})

describe('a stop, a disposal and a jar run', () => {
  it('are judged on their own fields', async () => {
    const id = job().id
    const stop = await post(`/jobs/${id}/stop`, '{"targetDirectory":"file:///tmp/x","drain":false}')
    const disposal = await post('/savepoint-disposal', '{"savepoint-path":"file:///etc/important"}')
    expect([stop.code, disposal.code]).toEqual([
      'FG_ERR_AUTHZ_ARGUMENT_DENIED',
      'FG_ERR_AUTHZ_ARGUMENT_DENIED',
    ])
    expect(standin.record.count).toBe(0)
    expect((await post(`/jobs/${id}/stop`, '{"targetDirectory":"s3://flink/team-a/stop"}')).status).toBe(202)
    // The stand-in has no disposal route (its 404 is its own); that the request reached it is the point.
    await post('/savepoint-disposal', '{"savepoint-path":"s3://flink/team-a/sp/_metadata"}')
    expect(standin.record.requests.map((entry) => entry.url)).toEqual([
      `/jobs/${id}/stop`,
      '/savepoint-disposal',
    ])
  })

  it.each([
    ['an entry class outside the grant', '{"entryClass":"com.evil.Main"}'],
    ['too much parallelism', '{"parallelism":64}'],
    [
      'a classpath in flinkConfiguration',
      '{"flinkConfiguration":{"pipeline.classpaths":"http://evil/x.jar"}}',
    ],
    ['a restore path outside', '{"savepointPath":"file:///etc"}'],
  ])('refuses a run with %s', async (_what, body) => {
    const response = await post('/jars/abc_job.jar/run', body)
    expect(response.status).toBe(403)
    expect(response.code).toBe('FG_ERR_AUTHZ_ARGUMENT_DENIED')
    expect(standin.record.count).toBe(0)
  })

  it('refuses a restore path given as the query parameter Flink also reads', async () => {
    const response = await post('/jars/abc_job.jar/run?savepointPath=file:///etc', '{}')
    expect(response.status).toBe(403)
    expect(standin.record.count).toBe(0)
  })

  it('lets a run within the grant through to Flink', async () => {
    await post('/jars/abc_job.jar/run', '{"entryClass":"com.example.teama.Orders","parallelism":2}')
    expect(standin.record.count).toBe(1)
  })
})

describe('without authz.arguments', () => {
  it('nothing is judged: the same savepoint reaches Flink', async () => {
    const response = await post(
      `/jobs/${job().id}/savepoints`,
      '{"target-directory":"file:///etc/flink"}',
      unruled,
    )
    expect(response.status).toBe(202)
    expect(standin.record.count).toBe(1)
  })
})

describe('a jar upload (limits.uploads.jarFilesOnly, on by default)', () => {
  const upload = (content: string | Buffer, via = proxy) => {
    const form = new FormData()
    form.append('jarfile', new Blob([content]), 'job.jar')
    return request(`${via.proxyUrl}/jars/upload`, { method: 'POST', body: form })
  }

  it('refuses a file that is no jar, named .jar, and the stand-in stores nothing', async () => {
    const response = await upload('#!/bin/sh\necho not a jar\n')
    expect(response.statusCode).toBe(415)
    expect(response.headers['x-flink-guard-error']).toBe('FG_ERR_UPLOAD_NOT_A_JAR')
    expect(JSON.parse(await response.body.text()).errors[0]).toMatch(/does not start as a jar/)
    expect(standin.record.uploads).toEqual([])
  })

  it('lets a jar through byte for byte', async () => {
    const jar = Buffer.concat([Buffer.from('PK\u0003\u0004'), randomBytes(200_000)])
    const response = await upload(jar)
    expect(response.statusCode).toBe(200)
    await response.body.text()
    expect(standin.record.uploads.map((entry) => entry.sha256)).toEqual([
      createHash('sha256').update(jar).digest('hex'),
    ])
  })

  it('refuses an upload that is not multipart/form-data', async () => {
    const response = await post('/jars/upload', 'PK\u0003\u0004', proxy, {
      'content-type': 'application/java-archive',
    })
    expect(response.status).toBe(415)
    expect(standin.record.count).toBe(0)
  })

  it('answers curl, which sends the file after 100-continue, with the 415 instead of a reset', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fg-upload-'))
    const file = join(dir, 'script.jar')
    writeFileSync(file, `#!/bin/sh\n${'echo not a jar\n'.repeat(50_000)}`)
    const { stdout } = await run('curl', [
      '-sS',
      '-o',
      '/dev/null',
      '-w',
      '%{http_code}',
      '-F',
      `jarfile=@${file}`,
      `${proxy.proxyUrl}/jars/upload`,
    ])
    expect(stdout).toBe('415')
    expect(standin.record.uploads).toEqual([])
  })

  it('with allowedSha256, passes the listed jar whole and refuses any other before its part ends', async () => {
    const listed = Buffer.concat([Buffer.from('PK\u0003\u0004'), randomBytes(2_000_000)])
    const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex')
    const pinned = await startProxy(standin.url, {
      limits: { uploads: { jarFilesOnly: false, allowedSha256: [sha256(listed)] } },
    })
    try {
      const allowed = await upload(listed, pinned)
      await allowed.body.text()
      expect(allowed.statusCode).toBe(200)
      expect(standin.record.uploads.map((entry) => entry.sha256)).toEqual([sha256(listed)])
      standin.record.reset()
      // Another jar, the listed one with a byte more, and one cut short: each refused, nothing stored.
      for (const other of [
        Buffer.concat([Buffer.from('PK\u0003\u0004'), randomBytes(1_000)]),
        Buffer.concat([listed, Buffer.from('\r')]),
        listed.subarray(0, listed.length - 1),
      ]) {
        const response = await upload(other, pinned)
        expect(response.statusCode).toBe(403)
        expect(response.headers['x-flink-guard-error']).toBe('FG_ERR_UPLOAD_NOT_ALLOWED')
        expect(JSON.parse(await response.body.text()).errors[0]).toContain(sha256(other))
      }
      // Two files, the listed one first: the second is judged too.
      const form = new FormData()
      form.append('jarfile', new Blob([listed]), 'job.jar')
      form.append('jarfile2', new Blob([Buffer.from('PK\u0003\u0004extra')]), 'extra.jar')
      const both = await request(`${pinned.proxyUrl}/jars/upload`, { method: 'POST', body: form })
      expect(both.statusCode).toBe(403)
      await both.body.text()
      // A file that is no jar stays refused with the allowlist on, jarFilesOnly off.
      expect((await upload('#!/bin/sh\n', pinned)).statusCode).toBe(415)
      expect(standin.record.uploads).toEqual([])
    } finally {
      await pinned.close(1_000)
    }
  })

  it('refuses a digest that is not lowercase hex in the config', async () => {
    await expect(
      startProxy(standin.url, { limits: { uploads: { allowedSha256: ['ABC'] } } }),
    ).rejects.toThrow(/allowedSha256/)
  })

  it('is not checked with jarFilesOnly off', async () => {
    const lenient = await startProxy(standin.url, { limits: { uploads: { jarFilesOnly: false } } })
    try {
      const response = await upload('#!/bin/sh\n', lenient)
      await response.body.text()
      expect(response.statusCode).toBe(200)
      expect(standin.record.uploads).toHaveLength(1)
    } finally {
      await lenient.close(1_000)
    }
  })
})
