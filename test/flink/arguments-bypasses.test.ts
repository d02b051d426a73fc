import { readdirSync } from 'node:fs'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startProxy, type TestProxy } from '../integration/support/proxy.js'
import { type RunningJob, runEndlessJob } from './support/endless-job.js'
import { type FlinkCluster, startFlinkCluster } from './support/flink.js'

/**
 * A security review's findings against a real Flink: requests Flink reads as arguments outside the grant or as
 * a non-jar upload (Netty splitting the query at ";", Jackson decoding overlong UTF-8, the plan endpoints that
 * run main(), Netty's lenient multipart decoder), refused by authz.arguments and jarFilesOnly.
 */

let flink: FlinkCluster
let proxy: TestProxy
let job: RunningJob

beforeAll(async () => {
  flink = await startFlinkCluster()
  proxy = await startProxy(flink.restUrl, {
    auth: { anonymous: { roles: ['team-a'] } },
    authz: {
      roles: { 'team-a': 'admin' },
      arguments: [
        {
          roles: ['team-a'],
          savepointDirs: [`file://${flink.savepointDir}/team-a/`],
          entryClasses: ['flinkguard.it.*'],
          maxParallelism: 2,
        },
      ],
    },
    limits: { uploads: { jarFilesOnly: true } },
  })
  job = await runEndlessJob(flink, 'orders-v3')
})
afterAll(async () => {
  await proxy?.close(1_000)
  await flink?.stop()
})

async function post(
  path: string,
  body: Buffer | string,
  contentType = 'application/json',
  method: 'POST' | 'GET' = 'POST',
) {
  const response = await request(`${proxy.proxyUrl}${path}`, {
    method,
    ...(body === '' ? {} : { body }),
    headers: { 'content-type': contentType },
  })
  return { status: response.statusCode, text: await response.body.text() }
}

describe('argument rules against a real Flink', () => {
  const run = () => `/jars/${encodeURIComponent(job.jarId)}/run`
  it('refuses an entry class given after ";" in the query (Netty splits there)', async () => {
    const response = await post(`${run()}?x=;entry-class=org.example.Other`, '{}')
    expect(response.status, response.text).toBe(400)
    expect(response.text).toContain('the query contains')
  })
  it('refuses ?allowNonRestoredState=TRUE, which Flink reads as true', async () => {
    const response = await post(`${run()}?allowNonRestoredState=TRUE`, '{}')
    expect(response.status, response.text).toBe(403)
    expect(response.text).toContain('allowNonRestoredState is not allowed')
  })
  it('refuses parallelism "" in the body, which makes Flink take the query\'s', async () => {
    const response = await post(`${run()}?parallelism=64`, '{"parallelism":""}')
    expect(response.status, response.text).toBe(403)
    expect(response.text).toContain('parallelism 64 is above 2')
  })
  it('refuses a key in overlong UTF-8 that Jackson reads as entryClass', async () => {
    const body = Buffer.concat([
      Buffer.from('{"entryCl'),
      Buffer.from([0xc1, 0xa1]),
      Buffer.from('ss":"org.example.Other"}'),
    ])
    const response = await post(run(), body)
    expect(response.status, response.text).toBe(400)
    expect(response.text).toContain('not valid UTF-8')
  })
})

describe('the plan endpoints run main() unruled', () => {
  // JarPlanHandler builds the same PackagedProgram as a run (entry class, flinkConfiguration incl.
  // pipeline.classpaths) and invokes its main() in the JobManager; authz.arguments does not judge it.
  it('refuses a plan with an entry class outside the grant', async () => {
    const response = await post(
      `/jars/${encodeURIComponent(job.jarId)}/plan`,
      '{"entryClass":"org.example.Other"}',
    )
    expect(response.status, response.text).toBe(403)
  })
  it('refuses a plan that adds a classpath', async () => {
    const body = JSON.stringify({
      flinkConfiguration: { 'pipeline.classpaths': 'file:///tmp/review-evil.jar' },
    })
    const response = await post(`/jars/${encodeURIComponent(job.jarId)}/plan`, body)
    expect(response.status, response.text).toBe(403)
    expect(response.text).toContain('flinkConfiguration may not set pipeline.classpaths')
  })
  it('refuses a GET plan with an entry class outside the grant in its query', async () => {
    const response = await post(
      `/jars/${encodeURIComponent(job.jarId)}/plan?entry-class=org.example.Other`,
      '',
      'application/json',
      'GET',
    )
    expect(response.status, response.text).toBe(403)
  })
  it('still answers a plan inside the grant', async () => {
    const response = await post(`/jars/${encodeURIComponent(job.jarId)}/plan`, '{"parallelism":1}')
    expect(response.status, response.text).toBe(200)
    expect(JSON.parse(response.text)).toHaveProperty('plan')
  })
})

describe('jar-only uploads against a real Flink', () => {
  const evil = 'Content-Disposition: form-data; name="jarfile"; filename="review-evil.jar"'
  it.each([
    [
      'boundaryx',
      'multipart/form-data; boundaryx=AAA; boundary=BBB',
      `--AAA\r\n${evil}\r\n\r\n#!/bin/sh evil\r\n--AAA--\r\n`,
    ],
    [
      'leading space',
      'multipart/form-data; boundary=BBB',
      ` --BBB\r\n${evil}\r\n\r\n#!/bin/sh evil\r\n--BBB--\r\n`,
    ],
    [
      'space before the header colon',
      'multipart/form-data; boundary=BBB',
      `--BBB\r\n${evil.replace(':', ' :')}\r\n\r\n#!/bin/sh evil\r\n--BBB--\r\n`,
    ],
  ])(
    'refuses a non-jar file part Netty finds (%s), and Flink stores nothing',
    async (_name, contentType, body) => {
      const response = await post('/jars/upload', body, contentType)
      const stored = readdirSync(flink.uploadDir, { recursive: true, encoding: 'utf8' }).filter((name) =>
        name.endsWith('review-evil.jar'),
      )
      expect({ status: response.status, stored }, response.text).toEqual({ status: 415, stored: [] })
    },
  )
})
