import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { compileRoutes } from '../../src/authz/match.js'
import { CATEGORY_MIN_PRESET, PRESETS, presetRank } from '../../src/authz/presets.js'
import { FLINK_LINES, FLINK_ROUTES, type FlinkRoute, STATIC_UI_ROUTE } from '../../src/authz/routes.js'

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8')

const HTTP_METHODS = ['get', 'post', 'put', 'patch', 'delete', 'head', 'options']

/** Every operation of the OpenAPI file, as `METHOD /path` in Flink's `:param` form. */
function specOperations(): string[] {
  const spec = parse(read('docs/flink-rest/rest_v1_dispatcher.yml')) as { paths: Record<string, object> }
  const operations: string[] = []
  for (const [path, item] of Object.entries(spec.paths)) {
    for (const method of Object.keys(item).filter((key) => HTTP_METHODS.includes(key))) {
      operations.push(`${method.toUpperCase()} ${path.replaceAll(/\{([^}]+)\}/g, ':$1')}`)
    }
  }
  return operations
}

interface DocRow {
  method: string
  path: string
  category: string
  minRole: string
  section: 'A' | 'B'
}

/** The rows of ENDPOINTS.md sections A and B: method, path, category and "Min role" columns. */
function endpointsDocRows(): DocRow[] {
  const doc = read('docs/flink-rest/ENDPOINTS.md')
  const sectionA = doc.slice(doc.indexOf('## A.'), doc.indexOf('## B.'))
  const sectionB = doc.slice(doc.indexOf('## B.'), doc.indexOf('## C.'))
  const rows: DocRow[] = []
  for (const [section, text] of [
    ['A', sectionA],
    ['B', sectionB],
  ] as const) {
    for (const line of text.split('\n')) {
      const cells = line.split('|').map((cell) => cell.trim())
      if (!/^(GET|POST|PUT|PATCH|DELETE)$/.test(cells[1] ?? '')) continue
      const path = /`([^`]+)`/.exec(cells[2] ?? '')?.[1] ?? ''
      rows.push({ method: cells[1]!, path, category: cells[3]!, minRole: cells[4]!, section })
    }
  }
  return rows
}

const key = (route: Pick<FlinkRoute, 'method' | 'template'>) => `${route.method} ${route.template}`

/** Where the table deliberately differs from ENDPOINTS.md's suggested "Min role" (stricter, by category). */
const STRICTER_THAN_DOC: Readonly<Record<string, string>> = {
  'GET /jobs/:jobid/config': 'admin',
  'GET /jobs/:jobid/vertices/:vertexid/flamegraph': 'admin',
}

/**
 * Real Flink outranks ENDPOINTS.md (test/flink/routes.test.ts compares the table with the handlers a real
 * JobManager registers). ENDPOINTS.md section B took these rows from apache/flink master; neither 1.20.5 nor
 * 2.3.0 registers them, so the table has no row for them.
 */
const IN_NO_RELEASE = [
  'GET /cluster/blocklist',
  'POST /cluster/blocklist',
  'DELETE /cluster/blocklist/:nodeId',
  'GET /cluster/nodes/quarantine',
  'POST /cluster/nodes/:nodeid/quarantine',
  'DELETE /cluster/nodes/:nodeid/quarantine',
]
/** Registered by real Flink 2.3.0, missing from ENDPOINTS.md. */
const NOT_IN_DOC = ['POST /jars/:jarid/run-application']

/** Read from the handlers of 1.20.5 and 2.3.0 (JobCancellationHandler, JarListHandler, JarPlanHandler, ...). */
const ACTING_GETS = [
  'GET /jars',
  'GET /jars/:jarid/plan',
  'GET /jobs/:jobid/vertices/:vertexid/flamegraph',
  'GET /jobs/:jobid/yarn-cancel',
  'GET /jobs/:jobid/yarn-stop',
]

describe('the Flink route table', () => {
  it('has an entry with the same method and path for every operation of rest_v1_dispatcher.yml', () => {
    const operations = specOperations()
    expect(operations).toHaveLength(69)
    const table = new Set(FLINK_ROUTES.map(key))
    expect(operations.filter((operation) => !table.has(operation))).toEqual([])
  })

  it('marks exactly the spec operations as source "spec"', () => {
    const specRows = FLINK_ROUTES.filter((route) => route.source === 'spec').map(key)
    expect(specRows.sort()).toEqual(specOperations().sort())
  })

  it('has no duplicates, also when parameter names are ignored', () => {
    const shapes = FLINK_ROUTES.map((r) => `${r.method} ${r.template.replaceAll(/:[^/]+/g, ':')}`)
    expect(shapes.filter((shape, i) => shapes.indexOf(shape) !== i)).toEqual([])
  })

  it('agrees with every row of ENDPOINTS.md sections A and B on category and lowest preset', () => {
    const rows = endpointsDocRows()
    expect(rows.filter((row) => row.section === 'A')).toHaveLength(69)
    const byKey = new Map(FLINK_ROUTES.map((route) => [key(route), route]))
    const checked = new Set<string>()
    for (const row of rows) {
      // The rescale-history row names its sub-paths only as "..."; the table has the five of apache/flink master.
      const keys =
        row.path === '/jobs/:jobid/rescales/...'
          ? ['config', 'history', 'overview', 'summary', 'details/:rescaleuuid'].map(
              (sub) => `GET /jobs/:jobid/rescales/${sub}`,
            )
          : row.path === '/'
            ? [key(STATIC_UI_ROUTE)]
            : [`${row.method} ${row.path}`]
      for (const k of keys) {
        if (IN_NO_RELEASE.includes(k)) {
          expect(byKey.has(k), `${k} is in no Flink release`).toBe(false)
          continue
        }
        const route = k === key(STATIC_UI_ROUTE) ? STATIC_UI_ROUTE : byKey.get(k)
        expect(route, `${k} from ENDPOINTS.md section ${row.section} is missing`).toBeDefined()
        const category = /^(MON|UI|SENS|CTRL|SUBMIT|CLUSTER)\b/.exec(row.category)?.[1]
        expect(route!.category, k).toBe(category)
        const docPreset = /^(viewer|operator|deployer|admin)\b/.exec(row.minRole)?.[1]
        expect(route!.minPreset, k).toBe(STRICTER_THAN_DOC[k] ?? docPreset)
        // "admin (or operator)" is exactly the set of log routes that sensLogsFor can lower.
        expect(route!.sensLog, k).toBe(row.minRole === 'admin (or operator)')
        checked.add(k)
      }
    }
    expect(FLINK_ROUTES.map(key).filter((k) => !checked.has(k))).toEqual(NOT_IN_DOC)
  })

  it('marks the lines of a version-only row with known lines, and a spelling only where parameter names differ', () => {
    for (const route of [...FLINK_ROUTES, STATIC_UI_ROUTE]) {
      expect(route.lines.length, key(route)).toBeGreaterThan(0)
      expect(
        route.lines.filter((line) => !FLINK_LINES.includes(line)),
        key(route),
      ).toEqual([])
      for (const [line, template] of Object.entries(route.templateOn)) {
        expect(route.lines, key(route)).toContain(line)
        expect(template, key(route)).not.toBe(route.template)
        const shape = (t: string) => t.replaceAll(/:[^/]+/g, ':')
        expect(shape(template), key(route)).toBe(shape(route.template))
      }
    }
  })

  it('flags exactly the GETs that change state or run user code, and gives none of them to viewers', () => {
    const acting = FLINK_ROUTES.filter((route) => route.actingGet)
    expect(acting.map(key).sort()).toEqual(ACTING_GETS)
    for (const route of acting) {
      expect(route.method, key(route)).toBe('GET')
      expect(['MON', 'UI'], key(route)).not.toContain(route.category)
    }
    expect(STATIC_UI_ROUTE.actingGet).toBe(false)
  })

  it('flags every GET of a control, submit or cluster route as acting (a job scope view grant never allows one)', () => {
    const actions = FLINK_ROUTES.filter(
      (route) => route.method === 'GET' && ['CTRL', 'SUBMIT', 'CLUSTER'].includes(route.category),
    )
    expect(actions.length).toBeGreaterThan(0)
    for (const route of actions) expect(route.actingGet, key(route)).toBe(true)
  })

  it("never sets a row's lowest preset below what its category needs", () => {
    for (const route of [...FLINK_ROUTES, STATIC_UI_ROUTE]) {
      expect(presetRank(route.minPreset), key(route)).toBeGreaterThanOrEqual(
        presetRank(CATEGORY_MIN_PRESET[route.category]),
      )
    }
  })

  it('classifies the mutating GETs and the PATCH cancel as CTRL for operators', () => {
    for (const k of ['GET /jobs/:jobid/yarn-cancel', 'GET /jobs/:jobid/yarn-stop', 'PATCH /jobs/:jobid']) {
      const route = FLINK_ROUTES.find((r) => key(r) === k)
      expect(route?.category, k).toBe('CTRL')
      expect(route?.minPreset, k).toBe('operator')
    }
  })

  it('serves static dashboard files as category UI for viewers', () => {
    expect(STATIC_UI_ROUTE).toMatchObject({
      method: 'GET',
      template: '/:*',
      category: 'UI',
      minPreset: 'viewer',
    })
  })

  it('writes templates in router form: leading "/", no "/v1", no "{param}", no trailing "/"', () => {
    for (const route of FLINK_ROUTES) {
      expect(route.template, key(route)).toMatch(/^(\/(:?[A-Za-z][A-Za-z0-9-]*))+$/)
      expect(route.template.startsWith('/v1/'), key(route)).toBe(false)
    }
  })

  it('compiles, and the compiler refuses duplicates, unvalidated parameters and conflicting names', () => {
    expect(() => compileRoutes(FLINK_ROUTES)).not.toThrow()
    const base = FLINK_ROUTES[0]!
    expect(() => compileRoutes([base, { ...base }])).toThrow(/duplicate route/)
    expect(() => compileRoutes([{ ...base, template: '/jobs/:whatever' }])).toThrow(/no validation rule/)
    expect(() =>
      compileRoutes([
        { ...base, template: '/jobs/:jobid' },
        { ...base, template: '/jobs/:vertexid/x' },
      ]),
    ).toThrow(/another route has :jobid/)
    expect(() => compileRoutes([{ ...base, template: '/jobs/' }])).toThrow(/trailing/)
  })

  it('lists only the four presets', () => {
    expect(PRESETS).toEqual(['viewer', 'operator', 'deployer', 'admin'])
  })
})
