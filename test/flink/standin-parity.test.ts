import { connect } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Standin, startStandin } from '../../src/standin/server.js'
import { type FlinkCluster, startFlinkCluster } from './support/flink.js'

/**
 * The stand-in kept honest: one list of requests, sent byte for byte over raw sockets (so `//v1/...` and
 * `/v1//...` reach the server as written) to a real JobManager and to the stand-in; status, content type and
 * the body's shape (keys and value types, not values) must agree.
 */

const ZERO_JOB = '0'.repeat(32)
const LINE = (process.env.FLINK_VERSION ?? '1.20.5').startsWith('1.') ? '1.x' : '2.x'
/** The stand-in answers as 1.20 (payloads.FLINK_VERSION); fields a newer line added are not differences. */
const NEWER_FIELDS: Record<'1.x' | '2.x', readonly string[]> = {
  '1.x': [],
  '2.x': ['$.taskmanagers[].assignedTasks only in Flink'],
}

/** [method, request target, body]: the router's corners first, then the routes the stand-in serves. */
const REQUESTS: readonly (readonly [string, string, string?])[] = [
  ['GET', '/v1/config'],
  ['GET', '/config'],
  ['GET', '//v1/config'],
  ['GET', '///v1/config'],
  ['GET', '/v1/config/'],
  ['GET', '/v1/config?x=1'],
  ['GET', '/v1//config'],
  ['POST', '/v1/config'],
  ['DELETE', '/v1/config'],
  ['PUT', '/v1/config'],
  ['PATCH', '/v1/config'],
  ['OPTIONS', '/v1/config'],
  ['HEAD', '/v1/config'],
  ['HEAD', '/'],
  ['HEAD', '/nope'],
  ['GET', '/v1/nope'],
  ['GET', '/nope'],
  ['POST', '/nope'],
  ['POST', '/v1/nope?a=b'],
  ['DELETE', '//v1/nope/'],
  ['GET', '/'],
  ['GET', '/index.html'],
  ['GET', '/v1/'],
  ['GET', '/v1/index.html'],
  ['GET', '/v2/config'],
  ['GET', '/V1/config'],
  ['GET', '/v1/jobs%2Foverview'],
  ['GET', '/jobs//status'],
  ['GET', '/jobs/zzz/status'],
  ['GET', `/jobs/${ZERO_JOB}`],
  ['GET', `/jobs/${ZERO_JOB}/status`],
  ['PATCH', `/jobs/${ZERO_JOB}`],
  ['GET', `/jobs/${ZERO_JOB}/yarn-cancel`],
  ['POST', `/jobs/${ZERO_JOB}/savepoints`, '{}'],
  ['POST', `/jobs/${ZERO_JOB}/stop`, '{}'],
  ['GET', '/overview'],
  ['GET', '/v1/overview'],
  ['GET', '/jobs'],
  ['GET', '/jobs/overview'],
  ['GET', '/taskmanagers'],
  ['GET', '/jars'],
  ['GET', `/jobs/${ZERO_JOB}/jobmanager/log-url`],
  ['GET', '/jobs/zzz/jobmanager/log-url'],
  ['GET', `/jobs/${ZERO_JOB}/taskmanagers/tm-1/log-url`],
  ['GET', '/jars/upload'],
  ['POST', '/jars/nope.jar/run', '{}'],
  ['DELETE', '/jars/nope.jar'],
  ['GET', '/jobmanager/config'],
  ['GET', '/jobmanager/logs'],
  ['GET', '/jobmanager/logs/nope.log'],
]

interface RawAnswer {
  readonly status: number
  readonly headers: Record<string, string>
  readonly body: string
}

/** One request over a fresh TCP connection, the target exactly as given; read until the server closes. */
function raw(port: number, method: string, target: string, body = ''): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port })
    const chunks: Buffer[] = []
    const lines = [`${method} ${target} HTTP/1.1`, 'Host: 127.0.0.1', 'Connection: close']
    if (body !== '')
      lines.push('Content-Type: application/json', `Content-Length: ${Buffer.byteLength(body)}`)
    socket.setTimeout(10_000, () => socket.destroy(new Error(`no answer to ${method} ${target}`)))
    socket.on('connect', () => socket.write(`${lines.join('\r\n')}\r\n\r\n${body}`))
    socket.on('data', (chunk: Buffer) => chunks.push(chunk))
    socket.on('error', reject)
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8')
      const split = text.indexOf('\r\n\r\n')
      const [statusLine, ...headerLines] = text.slice(0, split).split('\r\n')
      const headers = Object.fromEntries(
        headerLines.map((line) => {
          const colon = line.indexOf(':')
          return [line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim()]
        }),
      )
      resolve({ status: Number(statusLine?.split(' ')[1]), headers, body: text.slice(split + 4) })
    })
  })
}

/** Keys and value types; an array is its first element's shape (an empty one matches any). */
function shape(value: unknown): unknown {
  if (Array.isArray(value)) return value.length === 0 ? [] : [shape(value[0])]
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([key, item]) => [key, shape(item)]),
    )
  }
  return value === null ? 'null' : typeof value
}

/** The differences between two shapes, as paths; empty arrays match arrays of anything. */
function shapeDifferences(flink: unknown, standin: unknown, path = '$'): string[] {
  if (Array.isArray(flink) && Array.isArray(standin)) {
    if (flink.length === 0 || standin.length === 0) return []
    return shapeDifferences(flink[0], standin[0], `${path}[]`)
  }
  if (typeof flink === 'object' && flink !== null && typeof standin === 'object' && standin !== null) {
    const keys = new Set([...Object.keys(flink), ...Object.keys(standin)])
    return [...keys].flatMap((key) => {
      if (!(key in flink)) return [`${path}.${key} only in the stand-in`]
      if (!(key in standin)) return [`${path}.${key} only in Flink`]
      return shapeDifferences(
        (flink as Record<string, unknown>)[key],
        (standin as Record<string, unknown>)[key],
        `${path}.${key}`,
      )
    })
  }
  return JSON.stringify(flink) === JSON.stringify(standin)
    ? []
    : [`${path}: ${JSON.stringify(flink)} in Flink, ${JSON.stringify(standin)} in the stand-in`]
}

const bodyShape = (answer: RawAnswer) =>
  answer.headers['content-type']?.startsWith('application/json') && answer.body !== ''
    ? shape(JSON.parse(answer.body))
    : answer.body === ''
      ? 'no body'
      : 'text'

describe('the stand-in answers as a real Flink JobManager does', () => {
  let flink: FlinkCluster
  let standin: Standin

  beforeAll(async () => {
    ;[flink, standin] = await Promise.all([startFlinkCluster(), startStandin()])
  })

  afterAll(async () => {
    await Promise.all([flink?.stop(), standin?.close()])
  })

  it.each(REQUESTS.map(([method, target, body]) => [`${method} ${target}`, method, target, body] as const))(
    '%s',
    async (_, method, target, body) => {
      const real = await raw(flink.restPort, method, target, body)
      const ours = await raw(standin.port, method, target, body)
      expect({ status: ours.status, type: ours.headers['content-type'] }).toEqual({
        status: real.status,
        type: real.headers['content-type'],
      })
      if (method === 'HEAD') {
        expect(ours.body).toBe('')
        expect(ours.headers['content-length']).toBe(real.headers['content-length'])
        return
      }
      const differences = shapeDifferences(bodyShape(real), bodyShape(ours))
      expect(differences.filter((difference) => !NEWER_FIELDS[LINE].includes(difference))).toEqual([])
    },
  )

  // The gateway rebases these onto its own URL (src/proxy/flink-addresses.ts): the values, not only their
  // shape, must be Flink's: its REST base URL, then the same dashboard route.
  it.each([
    ['/jars', 'address'],
    [`/jobs/${ZERO_JOB}/jobmanager/log-url`, 'url'],
    [`/jobs/${ZERO_JOB}/taskmanagers/tm-1/log-url`, 'url'],
  ])('%s carries the REST base URL in `%s` as Flink does', async (target, field) => {
    const routeAfterBase = async (port: number, base: string) => {
      const answer = await raw(port, 'GET', target)
      const value = (JSON.parse(answer.body) as Record<string, string>)[field]!
      expect(value.startsWith(base)).toBe(true)
      return value.slice(base.length)
    }
    expect(await routeAfterBase(standin.port, standin.url)).toBe(
      await routeAfterBase(flink.restPort, flink.restUrl),
    )
  })
})
