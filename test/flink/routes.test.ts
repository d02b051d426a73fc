import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { hashSync } from '@node-rs/bcrypt'
import { Client, request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { FLINK_LINES, FLINK_ROUTES, type FlinkLine, STATIC_UI_ROUTE } from '../../src/authz/routes.js'
import { startProxy, type TestProxy } from '../integration/support/proxy.js'
import { jobState as stateInFlink, waitForJobState } from './support/endless-job.js'
import { FLINK_VERSION, type FlinkCluster, startFlinkCluster } from './support/flink.js'
import { registeredRoutes, routeLoggingFiles } from './support/flink-routes.js'

/**
 * The route table against real Flink: the routes the JobManager of this line registers (read from its own
 * DEBUG log, every optional handler switched on) must be exactly the table's rows for the line; the acting
 * GETs stay refused from another site while the job they would cancel keeps running; and jar ids Flink makes
 * of unusual upload names pass flink-guard's parameter checks while traversal-shaped ids do not.
 */

const LINE = /^\d+\.\d+/.exec(FLINK_VERSION)?.[0] ?? FLINK_VERSION
const PASSWORD = 'correct horse battery staple'
const UUID_PREFIX = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}_/

let flink: FlinkCluster
let proxy: TestProxy
let client: Client
const jobJarBytes = () => readFileSync(flink.build.jobJar)

const basic = (user: string) => `Basic ${Buffer.from(`${user}:${PASSWORD}`).toString('base64')}`

interface Answer {
  readonly status: number
  readonly code: string | undefined
  readonly body: unknown
}

/** One request through the proxy; the path is sent exactly as written (no URL normalisation). */
async function call(
  method: 'GET' | 'POST' | 'DELETE' | 'PATCH',
  path: string,
  user: string,
  options: { headers?: Record<string, string>; body?: Buffer | string; contentType?: string } = {},
): Promise<Answer> {
  const response = await client.request({
    method,
    path,
    headers: {
      authorization: basic(user),
      ...(options.contentType === undefined ? {} : { 'content-type': options.contentType }),
      ...options.headers,
    },
    body: options.body,
  })
  const text = await response.body.text()
  const code = response.headers['x-flink-guard-error']
  return {
    status: response.statusCode,
    code: typeof code === 'string' ? code : undefined,
    body: text.startsWith('{') ? JSON.parse(text) : text,
  }
}

/** A multipart/form-data body with one `jarfile` part, written as `curl -F jarfile=@<file>` writes it. */
function multipartJar(fileName: string, bytes: Buffer): { body: Buffer; contentType: string } {
  const boundary = `------------------------${randomBytes(8).toString('hex')}`
  const head =
    `--${boundary}\r\nContent-Disposition: form-data; name="jarfile"; filename="${fileName}"\r\n` +
    'Content-Type: application/octet-stream\r\n\r\n'
  return {
    body: Buffer.concat([Buffer.from(head, 'utf8'), bytes, Buffer.from(`\r\n--${boundary}--\r\n`)]),
    contentType: `multipart/form-data; boundary=${boundary}`,
  }
}

/** Uploads through the proxy as the deployer; returns the jar id (the deployer sees the stored name only). */
async function upload(fileName: string): Promise<string> {
  const { body, contentType } = multipartJar(fileName, jobJarBytes())
  const answer = await call('POST', '/jars/upload', 'dana', { body, contentType })
  expect(answer, fileName).toMatchObject({ status: 200, body: { status: 'success' } })
  return (answer.body as { filename: string }).filename
}

async function listedJarIds(): Promise<string[]> {
  const answer = await call('GET', '/jars', 'dana')
  expect(answer.status).toBe(200)
  return (answer.body as { files: { id: string }[] }).files.map((file) => file.id)
}

/** Asks Flink itself, not the proxy. */
async function flinkJson(path: string): Promise<Record<string, unknown>> {
  const response = await request(`${flink.restUrl}${path}`)
  return (await response.body.json()) as Record<string, unknown>
}

const jobState = (jobId: string) => stateInFlink(flink, jobId)

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fg-flink-routes-'))
  const htpasswd = join(dir, 'users.htpasswd')
  const hash = hashSync(PASSWORD, 5).replace(/^\$2b\$/, '$2y$')
  writeFileSync(htpasswd, ['ada', 'dana', 'olga'].map((user) => `${user}:${hash}\n`).join(''))
  flink = await startFlinkCluster({
    // Every optional handler on: web submission is on by default in the harness.
    config: { 'rest.profiling.enabled': true, 'rest.flamegraph.enabled': true },
    files: routeLoggingFiles(),
  })
  proxy = await startProxy(flink.restUrl, {
    auth: {
      basic: { htpasswd, users: { ada: ['admins'], dana: ['deployers'], olga: ['operators'] } },
    },
    authz: { roles: { admins: 'admin', deployers: 'deployer', operators: 'operator' } },
  })
  client = new Client(proxy.proxyUrl)
})

afterAll(async () => {
  await client?.close()
  await proxy?.close(1_000)
  await flink?.stop()
})

describe(`the route table against the handlers real Flink ${FLINK_VERSION} registers`, () => {
  it('is checked for this line', () => {
    expect(FLINK_LINES, `add "${LINE}" to FLINK_LINES in src/authz/routes.ts`).toContain(LINE)
  })

  it('serves every route under /v1 and unversioned alike (the proxy strips an optional /v1)', () => {
    const routes = registeredRoutes(flink)
    const versioned = routes
      .filter((r) => r.path.startsWith('/v1/'))
      .map((r) => `${r.method} ${r.path.slice(3)}`)
    const plain = routes.filter((r) => !r.path.startsWith('/v1/')).map((r) => `${r.method} ${r.path}`)
    expect(plain.length).toBeGreaterThan(50)
    expect(versioned.sort()).toEqual(plain.sort())
  })

  it(`has exactly the rows the table gives line ${LINE}`, () => {
    const line = LINE as FlinkLine
    const registered = new Set(
      registeredRoutes(flink)
        .filter((route) => !route.path.startsWith('/v1/'))
        .map((route) => `${route.method} ${route.path}`),
    )
    const table = new Set(
      [...FLINK_ROUTES.filter((route) => route.lines.includes(line)), STATIC_UI_ROUTE].map(
        (route) => `${route.method} ${route.templateOn[line] ?? route.template}`,
      ),
    )
    expect({
      'registered by Flink, missing from FLINK_ROUTES': [...registered].filter((r) => !table.has(r)).sort(),
      [`in FLINK_ROUTES for ${line}, not registered by Flink`]: [...table]
        .filter((r) => !registered.has(r))
        .sort(),
    }).toEqual({
      'registered by Flink, missing from FLINK_ROUTES': [],
      [`in FLINK_ROUTES for ${line}, not registered by Flink`]: [],
    })
    console.log(`Flink ${FLINK_VERSION} registers ${registered.size} routes (and each again under /v1)`)
  })
})

describe(`a running job on real Flink ${FLINK_VERSION}`, () => {
  let jarId: string
  let jobId: string
  let vertexId: string

  beforeAll(async () => {
    jarId = await upload('endless.jar')
    const run = await call('POST', `/jars/${encodeURIComponent(jarId)}/run`, 'dana', {
      body: '{}',
      contentType: 'application/json',
    })
    expect(run.status).toBe(200)
    jobId = (run.body as { jobid: string }).jobid
    await waitForJobState(flink, jobId, 'RUNNING')
    expect(await jobState(jobId)).toBe('RUNNING')
    vertexId = ((await flinkJson(`/jobs/${jobId}`)).vertices as { id: string }[])[0]!.id
  })

  afterAll(async () => {
    if (jarId !== undefined) await call('DELETE', `/jars/${encodeURIComponent(jarId)}`, 'dana')
  })

  it('refuses each acting GET from another site, for an admin too, and the job keeps RUNNING', async () => {
    const values: Record<string, string> = { jobid: jobId, vertexid: vertexId, jarid: jarId }
    const line = LINE as FlinkLine
    const acting = FLINK_ROUTES.filter((route) => route.actingGet && route.lines.includes(line))
    expect(acting.length).toBe(5)
    for (const route of acting) {
      const path = route.template.replaceAll(/:([A-Za-z]+)/g, (_, name: string) =>
        encodeURIComponent(values[name]!),
      )
      for (const suffix of ['', '?mode=cancel']) {
        const refused = await call('GET', `${path}${suffix}`, 'ada', {
          headers: { 'sec-fetch-site': 'cross-site', origin: 'https://evil.example' },
        })
        expect({ path, ...refused }).toMatchObject({ path, status: 403, code: 'FG_ERR_AUTH_CROSS_SITE' })
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 1_000))
    expect(await jobState(jobId)).toBe('RUNNING')
    expect(await listedJarIds()).toContain(jarId)
  })

  // 1.20 names it :operatorid (32 hex digits), 2.x :operatorUid (the uid a client gave the operator). The
  // proxy does not know the line, so it lets both spellings reach Flink's handler, which answers for itself.
  it.each([
    ['an operator id', () => vertexId],
    ['an operator uid', () => 'dataStreamCollect_1'],
  ])('forwards a coordinator request to %s to Flink', async (_, operator) => {
    const answer = await call('POST', `/jobs/${jobId}/coordinators/${operator()}`, 'dana', {
      body: JSON.stringify({ serializedCoordinationRequest: 'AAAA' }),
      contentType: 'application/json',
    })
    expect(answer.code).toBeUndefined()
    expect(answer.body).toMatchObject({ errors: expect.any(Array) })
  })

  it.each([
    ['/coordinators/..%2fx', 'FG_ERR_PATH_ENCODED_SEPARATOR'],
    ['/coordinators/a%20b', 'FG_ERR_PATH_PARAM_INVALID'],
    ['/coordinators/a..b', 'FG_ERR_PATH_PARAM_INVALID'],
  ])('refuses a coordinator request to %s (%s)', async (suffix, code) => {
    const answer = await call('POST', `/jobs/${jobId}${suffix}`, 'dana', {
      body: JSON.stringify({ serializedCoordinationRequest: 'AAAA' }),
      contentType: 'application/json',
    })
    expect(answer).toMatchObject({ status: 400, code })
  })

  it('cancels the job with the same yarn-cancel from no other site: the refusal was what kept it alive', async () => {
    expect(await jobState(jobId)).toBe('RUNNING')
    const cancel = await call('GET', `/jobs/${jobId}/yarn-cancel`, 'olga')
    expect(cancel.status).toBe(202)
    await waitForJobState(flink, jobId, 'CANCELED')
    expect(await jobState(jobId)).toBe('CANCELED')
  })
})

describe(`jar ids real Flink ${FLINK_VERSION} makes of unusual upload names`, () => {
  it.each([
    ['a space', 'my job.jar', 'my job.jar'],
    ['Unicode', 'jöb-日本.jar', 'jöb-日本.jar'],
    ['dots inside', 'v1..2.final.jar', 'v1..2.final.jar'],
    ['quotes, brackets and "#"', "it's (1) [final] #2.jar", "it's (1) [final] #2.jar"],
    ['a very long name', `${'x'.repeat(200)}.jar`, `${'x'.repeat(200)}.jar`],
    // FileUploadHandler keeps only what follows the last "/": a traversal in the upload name never reaches the id.
    ['a traversal in the name', '../../conf/evil.jar', 'evil.jar'],
  ])('%s: upload, list, plan and delete through the proxy as a deployer', async (_, fileName, stored) => {
    const jarId = await upload(fileName)
    expect(jarId).toMatch(UUID_PREFIX)
    expect(jarId.replace(UUID_PREFIX, '')).toBe(stored)
    expect(await listedJarIds()).toContain(jarId)
    const path = `/jars/${encodeURIComponent(jarId)}`
    const plan = await call('POST', `${path}/plan`, 'dana', { body: '{}', contentType: 'application/json' })
    expect(plan, jarId).toMatchObject({ status: 200, body: { plan: { nodes: expect.any(Array) } } })
    expect((await call('DELETE', path, 'dana')).status).toBe(200)
    expect(await listedJarIds()).not.toContain(jarId)
  })

  // Flink's router decodes a path twice, the second time reading "+" as a space (src/authz/canonical-path.ts).
  it('reads "+" in a jar id as the space Flink reads, so a "+" addresses the jar whose name has a space', async () => {
    const jarId = await upload('a b.jar')
    const plus = `/jars/${encodeURIComponent(jarId).replaceAll('%20', '+')}`
    expect(plus).toContain('+')
    const plan = await call('POST', `${plus}/plan`, 'dana', { body: '{}', contentType: 'application/json' })
    expect(plan.status).toBe(200)
    expect((await call('DELETE', plus, 'dana')).status).toBe(200)
    expect(await listedJarIds()).not.toContain(jarId)
  })

  it.each([
    ['"+"', 'c+d.jar', '+', '%252B'],
    ['"%"', '100%.jar', '%', '%2525'],
  ])(
    'cannot address a jar whose name has %s: Flink needs a double encoding, which flink-guard refuses',
    async (_, fileName, char, doubleEncoded) => {
      const jarId = await upload(fileName)
      expect(jarId.replace(UUID_PREFIX, '')).toBe(fileName)
      const [uuid, name] = [jarId.slice(0, 37), jarId.slice(37)]
      const once = `/jars/${uuid}${encodeURIComponent(name)}`
      const twice = `/jars/${uuid}${name.replace(char, doubleEncoded)}`
      // Encoded once, Flink itself misses the jar ("c d.jar" does not exist; "%.j" is not an escape).
      const directOnce = await request(`${flink.restUrl}${once}`, { method: 'DELETE' })
      await directOnce.body.dump()
      expect(directOnce.statusCode).not.toBe(200)
      const viaProxy = await call('DELETE', twice, 'dana')
      expect(viaProxy).toMatchObject({ status: 400, code: 'FG_ERR_PATH_DOUBLE_ENCODED' })
      expect(await listedJarIds()).toContain(jarId)
      const directTwice = await request(`${flink.restUrl}${twice}`, { method: 'DELETE' })
      await directTwice.body.dump()
      expect(directTwice.statusCode).toBe(200)
    },
  )

  it('refuses the double encoding that would make Flink read a traversal ("%252e%252e%252f")', async () => {
    const refused = await call('GET', '/jobmanager/logs/%252e%252e%252fconfig.yaml', 'ada')
    expect(refused).toMatchObject({ status: 400, code: 'FG_ERR_PATH_DOUBLE_ENCODED' })
  })

  it.each([
    ['/jars/..', 'FG_ERR_PATH_DOT_SEGMENT'],
    ['/jars/%2e%2e', 'FG_ERR_PATH_DOT_SEGMENT'],
    ['/jars/..%2f..%2fconf%2fconfig.yaml', 'FG_ERR_PATH_ENCODED_SEPARATOR'],
    ['/jars/..%5c..%5cevil.jar', 'FG_ERR_PATH_ENCODED_SEPARATOR'],
    ['/jars/%252e%252e%252fevil.jar', 'FG_ERR_PATH_DOUBLE_ENCODED'],
    ['/jars/evil.jar%00', 'FG_ERR_PATH_CONTROL_CHAR'],
    ['/jars/evil%00.jar/plan', 'FG_ERR_PATH_CONTROL_CHAR'],
    ['/jars/.hidden.jar', 'FG_ERR_PATH_PARAM_INVALID'],
    ['/jars/evil.sh/run', 'FG_ERR_PATH_PARAM_INVALID'],
  ])('refuses %s as a deployer (%s) and Flink keeps its jars', async (path, code) => {
    const keep = await upload('keep.jar')
    const method = path.endsWith('/plan') || path.endsWith('/run') ? 'POST' : 'DELETE'
    const refused = await call(method, path, 'dana', { body: '{}', contentType: 'application/json' })
    expect(refused).toMatchObject({ status: 400, code })
    expect(await listedJarIds()).toContain(keep)
    expect((await call('DELETE', `/jars/${encodeURIComponent(keep)}`, 'dana')).status).toBe(200)
  })
})
