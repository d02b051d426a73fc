import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { Readable } from 'node:stream'
import { Ajv } from 'ajv'
import { FormData, request } from 'undici'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { type Standin, startStandin } from '../../src/standin/server.js'
import { eventually } from './support/eventually.js'
import { RawConnection } from './support/raw-http.js'

interface Spec {
  paths: Record<
    string,
    Record<string, { responses: Record<string, { content?: Record<string, { schema: object }> }> }>
  >
  components: object
}

const spec = parse(
  readFileSync(new URL('../../docs/flink-rest/rest_v1_dispatcher.yml', import.meta.url), 'utf8'),
) as Spec
const ajv = new Ajv({ strict: false, allErrors: true })
for (const format of ['int32', 'int64', 'double', 'float', 'binary']) ajv.addFormat(format, true)
ajv.addSchema({ $id: 'flink', components: spec.components })

/** The JSON schema of one operation's response in Flink's spec, with its $refs resolved against the spec. */
function responseSchema(method: string, specPath: string, status: number) {
  const operation = spec.paths[specPath]?.[method.toLowerCase()]
  expect(operation, `${method} ${specPath} is in the spec`).toBeDefined()
  const schema = operation!.responses[String(status)]?.content?.['application/json']?.schema
  expect(schema, `${method} ${specPath} ${status} has a JSON schema`).toBeDefined()
  const rewritten = JSON.parse(JSON.stringify(schema).replaceAll('"#/components/', '"flink#/components/'))
  return ajv.compile(rewritten)
}

let standin: Standin
beforeAll(async () => {
  standin = await startStandin({ maxContentLength: 64 * 1024 })
})
afterAll(() => standin.close())
beforeEach(() => standin.record.reset())

const runningJob = () => [...standin.jobs.values()].find((job) => job.state === 'RUNNING')!

describe('the Flink REST stand-in follows the spec', () => {
  it.each([
    ['GET', '/config', '/config'],
    ['GET', '/overview', '/overview'],
    ['GET', '/jobs', '/jobs'],
    ['GET', '/jobs/overview', '/jobs/overview'],
    ['GET', '/jobs/{jobid}', '/jobs/:jobid'],
    ['GET', '/jobs/{jobid}/status', '/jobs/:jobid/status'],
    ['GET', '/taskmanagers', '/taskmanagers'],
    ['GET', '/jars', '/jars'],
    ['GET', '/jobmanager/config', '/jobmanager/config'],
    ['GET', '/jobmanager/logs', '/jobmanager/logs'],
    ['POST', '/jobs/{jobid}/savepoints', '/jobs/:jobid/savepoints'],
    ['POST', '/jobs/{jobid}/stop', '/jobs/:jobid/stop'],
  ])('%s %s answers what the spec says', async (method, specPath, path) => {
    const url = path.replace(':jobid', runningJob().id)
    const response = await request(`${standin.url}${url}`, {
      method: method as 'GET',
      ...(method === 'POST'
        ? {
            body: '{"target-directory":"s3://savepoints/x"}',
            headers: { 'content-type': 'application/json' },
          }
        : {}),
    })
    const status = method === 'POST' ? 202 : 200
    expect(response.statusCode).toBe(status)
    expect(response.headers['content-type']).toBe('application/json; charset=UTF-8')
    const validate = responseSchema(method, specPath, status)
    const body = await response.body.json()
    expect(validate(body), JSON.stringify(validate.errors)).toBe(true)
  })

  it("cancels a job by PATCH and by the mutating GET yarn-cancel (202, Flink's empty body {})", async () => {
    for (const [method, suffix] of [
      ['PATCH', ''],
      ['GET', '/yarn-cancel'],
    ] as const) {
      // A job of its own: the spec's stop above ended one of the stand-in's running jobs.
      const job = standin.state.addJob(`cancel by ${method}`, 'RUNNING')
      const response = await request(`${standin.url}/jobs/${job.id}${suffix}`, { method })
      expect(response.statusCode).toBe(202)
      expect(await response.body.text()).toBe('{}')
      expect(standin.jobs.get(job.id)?.state).toBe('CANCELED')
    }
  })

  it('stores an uploaded jar, lists it, runs it, and answers with the absolute server path', async () => {
    const jar = Buffer.from('PK\u0003\u0004 not really a jar, but bytes')
    const form = new FormData()
    form.append('jarfile', new Blob([jar]), 'word-count.jar')
    const upload = await request(`${standin.url}/jars/upload`, { method: 'POST', body: form })
    expect(upload.statusCode).toBe(200)
    const answer = (await upload.body.json()) as { filename: string; status: string }
    expect(answer.status).toBe('success')
    expect(answer.filename).toMatch(/^\/.+\/[0-9a-f-]{36}_word-count\.jar$/)
    expect(readFileSync(answer.filename)).toEqual(jar)
    expect(standin.record.uploads).toEqual([
      {
        serverPath: answer.filename,
        originalName: 'word-count.jar',
        bytes: jar.length,
        sha256: createHash('sha256').update(jar).digest('hex'),
      },
    ])
    expect(responseSchema('POST', '/jars/upload', 200)(answer)).toBe(true)

    const jars = (await (await request(`${standin.url}/jars`)).body.json()) as {
      files: { id: string; name: string }[]
    }
    const listed = jars.files.find((file) => file.name === 'word-count.jar')
    expect(listed?.id).toBe(answer.filename.split('/').pop())
    const run = await request(`${standin.url}/jars/${listed!.id}/run`, { method: 'POST' })
    expect(run.statusCode).toBe(200)
    const { jobid } = (await run.body.json()) as { jobid: string }
    expect(standin.jobs.get(jobid)?.state).toBe('RUNNING')
  })

  it.each([
    ['no file part', [] as [string, string][], 'Exactly 1 file must be sent, received 0.'],
    [
      'two file parts',
      [
        ['a.jar', 'x'],
        ['b.jar', 'y'],
      ] as [string, string][],
      'Exactly 1 file must be sent, received 2.',
    ],
    ['a file that is not a jar', [['job.zip', 'x']] as [string, string][], 'Only Jar files are allowed.'],
  ])("refuses an upload with %s with Flink's message", async (_name, files, message) => {
    const form = new FormData()
    form.append('note', 'a plain field')
    for (const [name, content] of files) form.append('jarfile', new Blob([content]), name)
    const response = await request(`${standin.url}/jars/upload`, { method: 'POST', body: form })
    expect(response.statusCode).toBe(400)
    expect(await response.body.json()).toEqual({ errors: [message] })
    expect(standin.record.uploads).toEqual([])
  })

  it('keeps an uploaded file name inside the upload folder (CVE-2020-17518)', async () => {
    const form = new FormData()
    form.append('jarfile', new Blob(['x']), '../../../tmp/evil.jar')
    const response = await request(`${standin.url}/jars/upload`, { method: 'POST', body: form })
    const { filename } = (await response.body.json()) as { filename: string }
    expect(filename).toMatch(/\/flink-web-upload-[^/]+\/[0-9a-f-]{36}_evil\.jar$/)
  })

  it("answers 413 in Flink's shape for a non-multipart body over rest.server.max-content-length", async () => {
    const declared = await request(`${standin.url}/jobs/${runningJob().id}/savepoints`, {
      method: 'POST',
      body: Buffer.alloc(65 * 1024),
    })
    expect(declared.statusCode).toBe(413)
    expect(await declared.body.json()).toEqual({ errors: [expect.stringContaining('max-content-length')] })
    const chunked = await request(`${standin.url}/jobs/${runningJob().id}/savepoints`, {
      method: 'POST',
      body: Readable.from([Buffer.alloc(40 * 1024), Buffer.alloc(40 * 1024)]),
    }).catch((err: Error) => err)
    if (!(chunked instanceof Error)) expect(chunked.statusCode).toBe(413)
  })

  it('serves every route under /v1 too, and answers unknown paths and methods like Flink', async () => {
    const versioned = await request(`${standin.url}/v1/overview`)
    expect(versioned.statusCode).toBe(200)
    expect(await versioned.body.json()).toHaveProperty('flink-version')
    // An unknown GET goes to the dashboard's static file handler; any other method gets the router's 404.
    const unknown = await request(`${standin.url}/nope`)
    expect(unknown.statusCode).toBe(404)
    expect(await unknown.body.json()).toEqual({ errors: ['Unable to load requested file /nope.'] })
    const unknownPost = await request(`${standin.url}/nope?a=b`, { method: 'POST' })
    expect(await unknownPost.body.json()).toEqual({ errors: ['Not found: /nope?a=b'] })
    // Flink has no 405: a wrong method, and every HEAD, is the router's 404.
    const wrongMethod = await request(`${standin.url}/overview`, { method: 'DELETE' })
    expect(wrongMethod.statusCode).toBe(404)
    expect(await wrongMethod.body.json()).toEqual({ errors: ['Not found: /overview'] })
    const head = await request(`${standin.url}/v1/config`, { method: 'HEAD' })
    expect(head.statusCode).toBe(404)
    expect(head.headers['content-length']).toBe(String('{"errors":["Not found: /v1/config"]}'.length))
    await head.body.dump()
    const missingJob = await request(`${standin.url}/jobs/${'0'.repeat(32)}`)
    expect(missingJob.statusCode).toBe(404)
    await missingJob.body.dump()
  })

  it.each([
    ['//v1/config', 200, 'flink-version'],
    ['///config/', 200, 'flink-version'],
    ['/v1//config', 404, 'Unable to load requested file /v1//config.'],
    ['/jobs//status', 400, 'could not parse parameters'],
    ['/v1/jobs%2Foverview', 200, 'jobs'],
  ])(
    'routes %s as Flink does: outer slash runs dropped, an inner // kept, decoded first',
    async (target, status, text) => {
      const connection = await RawConnection.open(standin.url)
      try {
        connection.write(`GET ${target} HTTP/1.1\r\nHost: x\r\n\r\n`)
        const response = await connection.readResponse()
        expect(response.status).toBe(status)
        expect(response.body).toContain(text)
      } finally {
        connection.close()
      }
    },
  )

  it('records the raw target byte-exact, the body hash, and a client that left early', async () => {
    const target = '/jobs/overview?x=%2F&y=a+b'
    await (await request(`${standin.url}${target}`, { method: 'POST', body: 'abc' })).body.dump()
    expect(standin.record.last).toMatchObject({
      method: 'POST',
      url: target,
      bodyBytes: 3,
      bodySha256: createHash('sha256').update('abc').digest('hex'),
      aborted: false,
    })
    standin.responseDelayMs = 500
    try {
      const abort = new AbortController()
      const pending = request(`${standin.url}/overview`, { signal: abort.signal })
      await eventually(() => standin.record.count === 2)
      abort.abort()
      await expect(pending).rejects.toThrow()
      await eventually(() => standin.record.last?.aborted === true)
    } finally {
      standin.responseDelayMs = 0
    }
  })

  it('closes promptly even with idle keep-alive clients connected', async () => {
    const other = await startStandin()
    await (await request(`${other.url}/overview`)).body.dump()
    await other.close() // an idle keep-alive socket must not hold it open (the test's timeout bounds it)
    await expect(request(`${other.url}/overview`)).rejects.toMatchObject({ code: 'ECONNREFUSED' })
  })
})
