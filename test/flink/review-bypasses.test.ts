import { readdirSync } from 'node:fs'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startProxy, type TestProxy } from '../integration/support/proxy.js'
import { type RunningJob, runEndlessJob } from './support/endless-job.js'
import { type FlinkCluster, startFlinkCluster } from './support/flink.js'

/**
 * Review findings against a real Flink (branch `review`): requests authz.arguments and jarFilesOnly should
 * refuse but forward, and that Flink acts on. Each test states the behaviour a fix must have: they fail on main.
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

async function post(path: string, body: Buffer | string, contentType = 'application/json') {
  const response = await request(`${proxy.proxyUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': contentType },
    body,
  })
  return { status: response.statusCode, text: await response.body.text() }
}

describe('argument rules against a real Flink', () => {
  const run = () => `/jars/${encodeURIComponent(job.jarId)}/run`
  it('refuses an entry class given after ";" in the query (Netty splits there)', async () => {
    const response = await post(`${run()}?x=;entry-class=org.example.Other`, '{}')
    expect(response.status, response.text).toBe(403)
  })
  it('refuses a key in overlong UTF-8 that Jackson reads as entryClass', async () => {
    const body = Buffer.concat([
      Buffer.from('{"entryCl'),
      Buffer.from([0xc1, 0xa1]),
      Buffer.from('ss":"org.example.Other"}'),
    ])
    const response = await post(run(), body)
    expect(response.status, response.text).toBe(403)
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
