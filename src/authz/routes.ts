import type { Preset } from './presets.js'

/**
 * Flink's JobManager REST routes, classified for authorization.
 *
 * Written out by hand from `docs/flink-rest/ENDPOINTS.md` sections A (the 69 operations of
 * `rest_v1_dispatcher.yml`) and B (handlers the spec leaves out), in the same order, and checked against
 * real Flink: `test/flink/routes.test.ts` reads the handlers a real JobManager of each line in `FLINK_LINES`
 * registers and fails unless they are exactly this table's rows for that line. A unit test compares
 * categories and presets with ENDPOINTS.md. Templates use Flink's router form (`:jobid`); matching is in
 * `match.ts`, decisions in `decide.ts`.
 */

/** ENDPOINTS.md "Conventions": what a route exposes or does. */
export type Category = 'MON' | 'UI' | 'SENS' | 'CTRL' | 'SUBMIT' | 'CLUSTER'

export const CATEGORIES: readonly Category[] = ['UI', 'MON', 'CTRL', 'SUBMIT', 'SENS', 'CLUSTER']

export type RouteMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'

/**
 * The Flink lines whose real JobManager the table is checked against (1.20.5 and 2.3.0 in
 * test/flink/routes.test.ts). A line is the major.minor version.
 */
export const FLINK_LINES = ['1.20', '2.3'] as const

export type FlinkLine = (typeof FLINK_LINES)[number]

/** `spec`: in rest_v1_dispatcher.yml (section A); `extra`: section B; `static`: the dashboard file handler. */
export type RouteSource = 'spec' | 'extra' | 'static'

export interface FlinkRoute {
  readonly method: RouteMethod
  /** Flink router form, e.g. `/jobs/:jobid/vertices/:vertexid`. Never carries the `/v1` prefix. */
  readonly template: string
  readonly category: Category
  /**
   * Lowest preset allowed with the default configuration. Never below what the category needs
   * (`CATEGORY_MIN_PRESET`); a row may raise it, as ENDPOINTS.md does for a few MON and CTRL routes.
   */
  readonly minPreset: Preset
  /** A SENS log route (ENDPOINTS.md "admin (or operator)"): `sensLogsFor: 'operator'` lowers it to operator. */
  readonly sensLog: boolean
  readonly source: RouteSource
  readonly note: string
  /** The lines whose JobManager registers the route (every line unless marked with `onlyOn`). */
  readonly lines: readonly FlinkLine[]
  /**
   * The template a line registers where it names a parameter differently. Matching ignores parameter names,
   * so the proxy accepts both spellings; `template` is the one `params.ts` validates.
   */
  readonly templateOn: Readonly<Partial<Record<FlinkLine, string>>>
  /**
   * A GET that changes state or runs user code: RFC 9110's "safe" does not hold for it. The cross-site rule
   * protects it as it protects a POST (`src/auth/cross-site.ts`), and its category is never MON or UI.
   */
  readonly actingGet: boolean
}

function row(
  source: RouteSource,
  method: RouteMethod,
  template: string,
  category: Category,
  minPreset: Preset,
  note = '',
  sensLog = false,
): FlinkRoute {
  return Object.freeze({
    method,
    template,
    category,
    minPreset,
    sensLog,
    source,
    note,
    lines: FLINK_LINES,
    templateOn: {},
    actingGet: false,
  })
}

/** Routes only these lines register. */
const onlyOn = (lines: readonly FlinkLine[], routes: readonly FlinkRoute[]): FlinkRoute[] =>
  routes.map((route) => Object.freeze({ ...route, lines: Object.freeze([...lines]) }))

/** A route that `line` registers under another parameter name. */
const spelledOn = (line: FlinkLine, template: string, route: FlinkRoute): FlinkRoute =>
  Object.freeze({ ...route, templateOn: Object.freeze({ ...route.templateOn, [line]: template }) })

/** A GET that changes state or runs user code (see `FlinkRoute.actingGet`). */
const acting = (route: FlinkRoute): FlinkRoute => Object.freeze({ ...route, actingGet: true })

const spec = (m: RouteMethod, t: string, c: Category, p: Preset, note = '', sensLog = false) =>
  row('spec', m, t, c, p, note, sensLog)
const extra = (m: RouteMethod, t: string, c: Category, p: Preset, note = '', sensLog = false) =>
  row('extra', m, t, c, p, note, sensLog)

const LOG = true

/** Section A: every operation of `rest_v1_dispatcher.yml` (Flink 1.19). */
const SPEC_ROUTES: readonly FlinkRoute[] = [
  spec(
    'GET',
    '/config',
    'UI',
    'viewer',
    'Dashboard bootstrap: version and features; the UI needs it to start.',
  ),
  spec('GET', '/overview', 'MON', 'viewer'),
  spec('DELETE', '/cluster', 'CLUSTER', 'admin', 'Shuts down the whole cluster and all its jobs.'),
  spec('GET', '/datasets', 'MON', 'viewer'),
  spec('DELETE', '/datasets/:datasetid', 'CTRL', 'operator', 'Deletes a cluster data set.'),
  spec('GET', '/datasets/delete/:triggerid', 'MON', 'viewer'),
  acting(
    spec(
      'GET',
      '/jars',
      'SUBMIT',
      'deployer',
      'Lists uploaded jars; the UI "Submit" page. Instantiates each entry class that is a ProgramDescription (user code).',
    ),
  ),
  spec(
    'POST',
    '/jars/upload',
    'SUBMIT',
    'deployer',
    'The answer carries the absolute server path of the jar.',
  ),
  spec('DELETE', '/jars/:jarid', 'SUBMIT', 'deployer'),
  spec('POST', '/jars/:jarid/plan', 'SUBMIT', 'deployer', "Runs the jar's main() inside the JobManager."),
  spec(
    'POST',
    '/jars/:jarid/run',
    'SUBMIT',
    'deployer',
    'Submits the job (savepointPath, flinkConfiguration).',
  ),
  spec('GET', '/jobmanager/config', 'SENS', 'admin', 'Full cluster configuration.'),
  spec('GET', '/jobmanager/environment', 'SENS', 'admin', 'JVM options and classpath.'),
  spec('GET', '/jobmanager/logs', 'SENS', 'admin', 'Names and sizes of log files.', LOG),
  spec('GET', '/jobmanager/metrics', 'MON', 'viewer'),
  spec('GET', '/jobmanager/thread-dump', 'SENS', 'admin'),
  spec('GET', '/jobs', 'MON', 'viewer'),
  spec('POST', '/jobs', 'SUBMIT', 'deployer', 'CLI submission; stays open with web.submit.enable=false.'),
  spec('GET', '/jobs/metrics', 'MON', 'viewer'),
  spec('GET', '/jobs/overview', 'MON', 'viewer'),
  spec('GET', '/jobs/:jobid', 'MON', 'viewer'),
  spec('PATCH', '/jobs/:jobid', 'CTRL', 'operator', 'Cancels the job (`flink cancel`).'),
  spec('GET', '/jobs/:jobid/accumulators', 'MON', 'viewer'),
  spec('GET', '/jobs/:jobid/checkpoints', 'MON', 'viewer'),
  spec('POST', '/jobs/:jobid/checkpoints', 'CTRL', 'operator', 'Manual checkpoint trigger.'),
  spec('GET', '/jobs/:jobid/checkpoints/config', 'MON', 'viewer'),
  spec('GET', '/jobs/:jobid/checkpoints/details/:checkpointid', 'MON', 'viewer'),
  spec('GET', '/jobs/:jobid/checkpoints/details/:checkpointid/subtasks/:vertexid', 'MON', 'viewer'),
  spec('GET', '/jobs/:jobid/checkpoints/:triggerid', 'MON', 'viewer'),
  spec(
    'PATCH',
    '/jobs/:jobid/clientHeartbeat',
    'CTRL',
    'deployer',
    'Attached CLI heartbeat (ENDPOINTS.md: deployer).',
  ),
  spec(
    'GET',
    '/jobs/:jobid/config',
    'SENS',
    'admin',
    'Global job parameters. ENDPOINTS.md suggests operator; kept at SENS/admin, grant it with a rule.',
  ),
  spec('GET', '/jobs/:jobid/exceptions', 'MON', 'viewer'),
  spec('GET', '/jobs/:jobid/execution-result', 'MON', 'viewer'),
  spec('GET', '/jobs/:jobid/jobmanager/config', 'SENS', 'admin'),
  spec('GET', '/jobs/:jobid/jobmanager/environment', 'SENS', 'admin'),
  spec('GET', '/jobs/:jobid/jobmanager/log-url', 'MON', 'viewer'),
  spec('GET', '/jobs/:jobid/metrics', 'MON', 'viewer'),
  spec('GET', '/jobs/:jobid/plan', 'MON', 'viewer'),
  spec('PATCH', '/jobs/:jobid/rescaling', 'CTRL', 'operator', 'Legacy rescale.'),
  spec('GET', '/jobs/:jobid/rescaling/:triggerid', 'MON', 'viewer'),
  spec('GET', '/jobs/:jobid/resource-requirements', 'MON', 'viewer'),
  spec('PUT', '/jobs/:jobid/resource-requirements', 'CTRL', 'operator', 'In effect a rescale (FLIP-291).'),
  spec(
    'POST',
    '/jobs/:jobid/savepoints',
    'CTRL',
    'operator',
    '`cancel-job: true` cancels the job afterwards.',
  ),
  spec('GET', '/jobs/:jobid/savepoints/:triggerid', 'MON', 'viewer'),
  spec('GET', '/jobs/:jobid/status', 'MON', 'viewer'),
  spec('POST', '/jobs/:jobid/stop', 'CTRL', 'operator', 'Stop-with-savepoint.'),
  spec('GET', '/jobs/:jobid/taskmanagers/:taskmanagerid/log-url', 'MON', 'viewer'),
  spec('GET', '/jobs/:jobid/vertices/:vertexid', 'MON', 'viewer'),
  spec('GET', '/jobs/:jobid/vertices/:vertexid/accumulators', 'MON', 'viewer'),
  spec('GET', '/jobs/:jobid/vertices/:vertexid/backpressure', 'MON', 'viewer'),
  acting(
    spec(
      'GET',
      '/jobs/:jobid/vertices/:vertexid/flamegraph',
      'SENS',
      'admin',
      'Starts thread sampling on the TaskManagers. ENDPOINTS.md suggests operator; kept at SENS/admin, grant it with a rule.',
    ),
  ),
  spec('GET', '/jobs/:jobid/vertices/:vertexid/metrics', 'MON', 'viewer'),
  spec('GET', '/jobs/:jobid/vertices/:vertexid/subtasks/accumulators', 'MON', 'viewer'),
  spec('GET', '/jobs/:jobid/vertices/:vertexid/subtasks/metrics', 'MON', 'viewer'),
  spec('GET', '/jobs/:jobid/vertices/:vertexid/subtasks/:subtaskindex', 'MON', 'viewer'),
  spec('GET', '/jobs/:jobid/vertices/:vertexid/subtasks/:subtaskindex/attempts/:attempt', 'MON', 'viewer'),
  spec(
    'GET',
    '/jobs/:jobid/vertices/:vertexid/subtasks/:subtaskindex/attempts/:attempt/accumulators',
    'MON',
    'viewer',
  ),
  spec('GET', '/jobs/:jobid/vertices/:vertexid/subtasks/:subtaskindex/metrics', 'MON', 'viewer'),
  spec('GET', '/jobs/:jobid/vertices/:vertexid/subtasktimes', 'MON', 'viewer'),
  spec('GET', '/jobs/:jobid/vertices/:vertexid/taskmanagers', 'MON', 'viewer'),
  spec('GET', '/jobs/:jobid/vertices/:vertexid/watermarks', 'MON', 'viewer'),
  spec(
    'POST',
    '/savepoint-disposal',
    'CLUSTER',
    'admin',
    'Deletes the savepoint at any path the cluster can write.',
  ),
  spec('GET', '/savepoint-disposal/:triggerid', 'MON', 'viewer'),
  spec('GET', '/taskmanagers', 'MON', 'viewer'),
  spec('GET', '/taskmanagers/metrics', 'MON', 'viewer'),
  spec('GET', '/taskmanagers/:taskmanagerid', 'MON', 'viewer'),
  spec('GET', '/taskmanagers/:taskmanagerid/logs', 'SENS', 'admin', 'Log file list of a TaskManager.', LOG),
  spec('GET', '/taskmanagers/:taskmanagerid/metrics', 'MON', 'viewer'),
  spec('GET', '/taskmanagers/:taskmanagerid/thread-dump', 'SENS', 'admin'),
]

/** Section B: handlers the 1.19 spec leaves out (undocumented, or newer). */
const EXTRA_ROUTES: readonly FlinkRoute[] = [
  extra('GET', '/jobmanager/log', 'SENS', 'admin', 'Full JobManager log.', LOG),
  extra('GET', '/jobmanager/stdout', 'SENS', 'admin', 'JobManager stdout.', LOG),
  extra('GET', '/jobmanager/logs/:filename', 'SENS', 'admin', 'File-name parameter (CVE-2020-17519).', LOG),
  extra('GET', '/taskmanagers/:taskmanagerid/log', 'SENS', 'admin', '', LOG),
  extra('GET', '/taskmanagers/:taskmanagerid/stdout', 'SENS', 'admin', '', LOG),
  extra('GET', '/taskmanagers/:taskmanagerid/logs/:filename', 'SENS', 'admin', 'File-name parameter.', LOG),
  // ENDPOINTS.md note 2: GETs that change job state. "GET = read-only" is wrong for Flink.
  acting(
    extra(
      'GET',
      '/jobs/:jobid/yarn-cancel',
      'CTRL',
      'operator',
      'A GET that cancels the job (dashboard button).',
    ),
  ),
  acting(
    extra(
      'GET',
      '/jobs/:jobid/yarn-stop',
      'CTRL',
      'operator',
      'A GET that cancels the job with `?mode=cancel` (its default mode, stop, is refused by Flink).',
    ),
  ),
  // 1.20 takes the operator's 32-hex id (OperatorIDPathParameter), 2.x the operator uid the client set
  // (OperatorUidPathParameter, any string; the collect sink's is `dataStreamCollect_<n>`).
  spelledOn(
    '2.3',
    '/jobs/:jobid/coordinators/:operatorUid',
    extra(
      'POST',
      '/jobs/:jobid/coordinators/:operatorid',
      'SUBMIT',
      'deployer',
      'Client to operator coordinator. The operator id on 1.20, the operator uid on 2.x.',
    ),
  ),
  acting(extra('GET', '/jars/:jarid/plan', 'SUBMIT', 'deployer', "Runs the jar's main() like the POST.")),
  extra(
    'POST',
    '/jobmanager/profiler',
    'SENS',
    'admin',
    'Starts async-profiler (ENDPOINTS.md: SENS / CTRL).',
  ),
  extra('GET', '/jobmanager/profiler', 'SENS', 'admin'),
  extra('GET', '/jobmanager/profiler/:filename', 'SENS', 'admin', 'File-name parameter.'),
  extra('POST', '/taskmanagers/:taskmanagerid/profiler', 'SENS', 'admin', 'Starts async-profiler.'),
  extra('GET', '/taskmanagers/:taskmanagerid/profiler', 'SENS', 'admin'),
  extra('GET', '/taskmanagers/:taskmanagerid/profiler/:filename', 'SENS', 'admin', 'File-name parameter.'),
  extra('GET', '/jobs/:jobid/vertices/:vertexid/jm-operator-metrics', 'MON', 'viewer'),
  // Registered by 2.3 only (of the lines checked): applications, the adaptive scheduler's rescale history,
  // and running a jar as an application.
  ...onlyOn(
    ['2.3'],
    [
      extra('GET', '/applications/overview', 'MON', 'viewer'),
      extra('GET', '/applications/:applicationid', 'MON', 'viewer'),
      extra(
        'POST',
        '/applications/:applicationid/cancel',
        'CTRL',
        'operator',
        'Cancels an application and its jobs.',
      ),
      extra('GET', '/applications/:applicationid/jobmanager/config', 'SENS', 'admin'),
      extra('GET', '/applications/:applicationid/exceptions', 'MON', 'viewer'),
      extra('GET', '/jobs/:jobid/rescales/config', 'MON', 'viewer'),
      extra('GET', '/jobs/:jobid/rescales/history', 'MON', 'viewer'),
      extra('GET', '/jobs/:jobid/rescales/overview', 'MON', 'viewer'),
      extra('GET', '/jobs/:jobid/rescales/summary', 'MON', 'viewer'),
      extra('GET', '/jobs/:jobid/rescales/details/:rescaleuuid', 'MON', 'viewer'),
      extra(
        'POST',
        '/jars/:jarid/run-application',
        'SUBMIT',
        'deployer',
        "Runs the jar's main() as an application in the JobManager.",
      ),
    ],
  ),
]

/** Every REST route of the JobManager that flink-guard knows: sections A and B of ENDPOINTS.md. */
export const FLINK_ROUTES: readonly FlinkRoute[] = Object.freeze([...SPEC_ROUTES, ...EXTRA_ROUTES])

/**
 * Flink's static web-UI handler (`WebContentHandlerSpecification`, registered for `/:*`): any GET that
 * matches no REST route gets the dashboard file or a 404. `match.ts` returns it for such GETs unless the
 * path looks like an API path.
 */
export const STATIC_UI_ROUTE: FlinkRoute = row(
  'static',
  'GET',
  '/:*',
  'UI',
  'viewer',
  'Dashboard files: `/`, `/index.html`, `/*.js`, `/assets/...`; any GET outside the REST namespaces.',
)
