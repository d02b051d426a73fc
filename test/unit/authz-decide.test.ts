import { describe, expect, it } from 'vitest'
import type { Identity } from '../../src/auth/identity.js'
import { type CanonicalPath, canonicalize } from '../../src/authz/canonical-path.js'
import {
  type AuthzPolicy,
  type AuthzRule,
  compilePolicy,
  type Decision,
  decide,
} from '../../src/authz/decide.js'
import { FLINK_ROUTES, type FlinkRoute, STATIC_UI_ROUTE } from '../../src/authz/routes.js'
import { FlinkGuardError } from '../../src/errors.js'

/**
 * The preset ladder of ENDPOINTS.md and issue 6, stated here on its own so the test does not
 * check the code against itself: viewer (MON, UI) < operator (+CTRL) < deployer (+SUBMIT) < admin (+SENS, CLUSTER).
 */
const LADDER = ['viewer', 'operator', 'deployer', 'admin'] as const
type PresetName = (typeof LADDER)[number]
const GRANTS: Record<PresetName, ReadonlySet<string>> = {
  viewer: new Set(['MON', 'UI']),
  operator: new Set(['MON', 'UI', 'CTRL']),
  deployer: new Set(['MON', 'UI', 'CTRL', 'SUBMIT']),
  admin: new Set(['MON', 'UI', 'CTRL', 'SUBMIT', 'SENS', 'CLUSTER']),
}
const rank = (p: PresetName) => LADDER.indexOf(p)

function expectedAllow(preset: PresetName, route: FlinkRoute, sensLogsFor: 'operator' | 'admin'): boolean {
  if (route.sensLog && sensLogsFor === 'operator') return rank(preset) >= rank('operator')
  return GRANTS[preset].has(route.category) && rank(preset) >= rank(route.minPreset)
}

const SAMPLE: Record<string, string> = {
  jobid: '6b1af540c0c0bb3fcf1cfcb4a3d2a1b9',
  vertexid: 'cbc357ccb763df2852fee8c4fc7d55f2',
  triggerid: '0f6bd3b1a6d3b4e5f60718293a4b5c6d',
  datasetid: '9a8b7c6d5e4f30211203f4e5d6c7b8a9',
  applicationid: '11112222333344445555666677778888',
  rescaleuuid: 'aaaabbbbccccddddeeeeffff00001111',
  checkpointid: '42',
  subtaskindex: '0',
  attempt: '1',
  taskmanagerid: '10.0.0.7:40123-5d2f1a',
  operatorid: 'collect-sink',
  jarid: 'c4b6a2c0-3f7e-4e2b-9d7a-1f2e3d4c5b6a_WordCount.jar',
  filename: 'jobmanager.log',
}
const J = SAMPLE.jobid!

const fill = (template: string) => template.replaceAll(/:([^/]+)/g, (_, name: string) => SAMPLE[name]!)

const path = (target: string): CanonicalPath => {
  const result = canonicalize(target)
  if (!result.ok) throw new Error(`${target} refused: ${result.code}`)
  return result
}

const identity = (roles: string[], subject = 'alice'): Identity => ({
  subject,
  roles,
  method: 'jwt',
  claims: {},
})

const ROLES: AuthzPolicy['roles'] = {
  'flink-viewers': 'viewer',
  'flink-operators': 'operator',
  'flink-deployers': 'deployer',
  'flink-admins': 'admin',
}
const asPreset = (preset: PresetName) => identity([`flink-${preset}s`])

const policyFor = (rules: AuthzRule[] = [], extra: Partial<AuthzPolicy> = {}) =>
  compilePolicy({ roles: ROLES, rules, ...extra })

const run = (who: Identity, method: string, target: string, policy = policyFor()): Decision =>
  decide(who, method, path(target), policy)

const cases = [...FLINK_ROUTES, STATIC_UI_ROUTE].flatMap((route) =>
  LADDER.flatMap((preset) =>
    (['admin', 'operator'] as const).map((sensLogsFor) => ({ route, preset, sensLogsFor })),
  ),
)

describe('decide() over every route, for every preset', () => {
  const policies = { admin: policyFor(), operator: policyFor([], { sensLogsFor: 'operator' }) }

  it.each(cases.map((c) => [c.route.method, c.route.template, c.preset, c.sensLogsFor, c] as const))(
    '%s %s as %s (sensLogsFor %s)',
    (_m, _t, _p, _s, { route, preset, sensLogsFor }) => {
      const target = route === STATIC_UI_ROUTE ? '/index.html' : fill(route.template)
      for (const prefixed of [target, `/v1${target}`]) {
        const decision = run(asPreset(preset), route.method, prefixed, policies[sensLogsFor])
        expect(decision.route).toBe(route)
        if (expectedAllow(preset, route, sensLogsFor)) {
          expect(decision).toMatchObject({ allow: true, preset, rule: null })
        } else {
          expect(decision).toMatchObject({ allow: false, code: 'FG_ERR_AUTHZ_PRESET_INSUFFICIENT' })
        }
      }
    },
  )
})

describe('decide(): the scenarios of issue 6', () => {
  it('lets a viewer load the dashboard overview', () => {
    for (const target of ['/', '/index.html', '/config', '/overview', '/jobs/overview', '/taskmanagers']) {
      expect(run(asPreset('viewer'), 'GET', target).allow, target).toBe(true)
    }
  })

  it.each([
    ['PATCH', `/jobs/${J}`],
    ['GET', `/jobs/${J}/yarn-cancel`],
    ['GET', `/jobs/${J}/yarn-stop`],
    ['POST', '/jars/upload'],
    ['DELETE', '/cluster'],
    ['GET', '/jobmanager/config'],
    ['GET', '/jobmanager/log'],
  ])('denies a viewer %s %s with a 403 reason', (method, target) => {
    const decision = run(asPreset('viewer'), method, target)
    expect(decision).toMatchObject({ allow: false, code: 'FG_ERR_AUTHZ_PRESET_INSUFFICIENT' })
    if (!decision.allow)
      expect(decision.reason).toMatch(/needs preset (operator|deployer|admin); yours is viewer/)
  })

  it('lets an operator cancel (PATCH and the yarn-cancel GET) but not upload', () => {
    expect(run(asPreset('operator'), 'PATCH', `/jobs/${J}`)).toMatchObject({
      allow: true,
      params: { jobid: J },
    })
    expect(run(asPreset('operator'), 'GET', `/jobs/${J}/yarn-cancel`).allow).toBe(true)
    expect(run(asPreset('operator'), 'POST', '/jars/upload').allow).toBe(false)
  })

  it('lets a deployer upload and run, but not shut down the cluster', () => {
    expect(run(asPreset('deployer'), 'POST', '/jars/upload').allow).toBe(true)
    expect(run(asPreset('deployer'), 'POST', `/jars/${SAMPLE.jarid}/run`).allow).toBe(true)
    expect(run(asPreset('deployer'), 'DELETE', '/cluster').allow).toBe(false)
  })

  it('lets only an admin shut down the cluster', () => {
    expect(run(asPreset('admin'), 'DELETE', '/cluster')).toMatchObject({ allow: true, preset: 'admin' })
  })

  it('denies unknown routes even to an admin', () => {
    for (const [method, target] of [
      ['GET', `/jobs/${J}/something-new`],
      ['POST', '/not-flink'],
      ['HEAD', '/jobs/overview'],
      ['PUT', '/jobs'],
    ] as const) {
      expect(run(asPreset('admin'), method, target), `${method} ${target}`).toMatchObject({
        allow: false,
        code: 'FG_ERR_AUTHZ_UNKNOWN_ROUTE',
        route: null,
      })
    }
  })
})

describe('decide(): role mapping', () => {
  it('takes the highest preset any role maps to', () => {
    expect(
      run(identity(['flink-viewers', 'flink-deployers', 'other']), 'POST', '/jars/upload'),
    ).toMatchObject({
      allow: true,
      preset: 'deployer',
    })
  })

  it('gives "*" to every authenticated identity, and a mapped role can raise it', () => {
    const policy = compilePolicy({ roles: { '*': 'viewer', ops: 'operator' } })
    expect(decide(identity([]), 'GET', path('/jobs/overview'), policy)).toMatchObject({
      allow: true,
      preset: 'viewer',
    })
    expect(decide(identity(['ops']), 'PATCH', path(`/jobs/${J}`), policy)).toMatchObject({
      allow: true,
      preset: 'operator',
    })
  })

  it('denies an identity none of whose roles is mapped, when there is no "*"', () => {
    expect(run(identity(['unknown-group']), 'GET', '/jobs/overview')).toMatchObject({
      allow: false,
      code: 'FG_ERR_AUTHZ_NO_PRESET',
    })
  })

  it('matches role names exactly', () => {
    expect(run(identity(['FLINK-ADMINS']), 'GET', '/jobs/overview')).toMatchObject({
      code: 'FG_ERR_AUTHZ_NO_PRESET',
    })
  })
})

describe('decide(): rules', () => {
  const operator = asPreset('operator')

  it('lets a rule grant a SENS route to operators only', () => {
    const policy = policyFor([
      { effect: 'allow', methods: ['GET'], path: '/jobs/:jobid/config', presets: ['operator'] },
    ])
    expect(run(operator, 'GET', `/jobs/${J}/config`, policy)).toMatchObject({ allow: true, rule: 0 })
    expect(run(operator, 'GET', `/v1/jobs/${J}/config/`, policy)).toMatchObject({ allow: true, rule: 0 })
    expect(run(asPreset('viewer'), 'GET', `/jobs/${J}/config`, policy).allow).toBe(false)
    expect(run(operator, 'GET', `/jobs/${J}/jobmanager/config`, policy).allow).toBe(false)
  })

  it('lets deny win over allow, whatever the order', () => {
    const rules: AuthzRule[] = [
      { effect: 'allow', path: '/**' },
      { effect: 'deny', methods: ['PATCH'], path: '/jobs/*' },
    ]
    for (const ordered of [rules, [...rules].reverse()]) {
      const decision = run(operator, 'PATCH', `/jobs/${J}`, policyFor(ordered))
      expect(decision).toMatchObject({ allow: false, code: 'FG_ERR_AUTHZ_RULE_DENIED' })
    }
  })

  it('denies by subject, even an admin, and on the /v1 alias and with a trailing slash', () => {
    const policy = policyFor([{ effect: 'deny', path: '/cluster', subjects: ['mallory'] }])
    const mallory = identity(['flink-admins'], 'mallory')
    for (const target of ['/cluster', '/v1/cluster', '/cluster/', '/v1/cluster/']) {
      expect(run(mallory, 'DELETE', target, policy), target).toMatchObject({
        code: 'FG_ERR_AUTHZ_RULE_DENIED',
      })
    }
    expect(run(asPreset('admin'), 'DELETE', '/cluster', policy).allow).toBe(true)
  })

  it('applies a rule only to the methods it lists', () => {
    const policy = policyFor([{ effect: 'deny', methods: ['DELETE'], path: '/**' }])
    expect(run(asPreset('admin'), 'GET', '/jobs/overview', policy).allow).toBe(true)
    expect(run(asPreset('admin'), 'DELETE', '/cluster', policy).allow).toBe(false)
  })

  it('can allow a route flink-guard does not know', () => {
    const policy = policyFor([{ effect: 'allow', methods: ['GET'], path: '/jobs/:jobid/something-new' }])
    expect(run(asPreset('viewer'), 'GET', `/jobs/${J}/something-new`, policy)).toMatchObject({
      allow: true,
      route: null,
      rule: 0,
    })
    expect(run(asPreset('viewer'), 'GET', `/jobs/${J}/something-else`, policy).allow).toBe(false)
  })

  it('can allow an identity that has no preset, by subject', () => {
    const policy = policyFor([
      { effect: 'allow', methods: ['GET'], path: '/jobs/overview', subjects: ['ci-bot'] },
    ])
    expect(run(identity([], 'ci-bot'), 'GET', '/jobs/overview', policy)).toMatchObject({
      allow: true,
      preset: null,
    })
    expect(run(identity([], 'other'), 'GET', '/jobs/overview', policy).allow).toBe(false)
  })

  it('never lets a rule override a bad path parameter', () => {
    const policy = policyFor([{ effect: 'allow', path: '/**' }])
    const decision = run(asPreset('admin'), 'GET', '/jobmanager/logs/.bash_history', policy)
    expect(decision).toMatchObject({ allow: false, code: 'FG_ERR_PATH_PARAM_INVALID' })
    if (!decision.allow) expect(decision.reason).toMatch(/:filename must be a plain file name/)
  })

  it('matches "**" on zero or more segments and ":x" / "*" on exactly one', () => {
    const policy = policyFor([
      { effect: 'deny', path: '/taskmanagers/**' },
      { effect: 'deny', path: '/jobs/*/vertices/:v' },
    ])
    const admin = asPreset('admin')
    expect(run(admin, 'GET', '/taskmanagers', policy).allow).toBe(false)
    expect(run(admin, 'GET', '/taskmanagers/tm-1/metrics', policy).allow).toBe(false)
    expect(run(admin, 'GET', `/jobs/${J}/vertices/${SAMPLE.vertexid}`, policy).allow).toBe(false)
    expect(run(admin, 'GET', `/jobs/${J}/vertices/${SAMPLE.vertexid}/metrics`, policy).allow).toBe(true)
    expect(run(admin, 'GET', '/jobs/overview', policy).allow).toBe(true)
  })

  it('lets sensLogsFor: operator open the log routes to operators, and nothing else', () => {
    const policy = policyFor([], { sensLogsFor: 'operator' })
    expect(run(operator, 'GET', '/jobmanager/log', policy).allow).toBe(true)
    expect(run(operator, 'GET', '/taskmanagers/tm-1/logs/taskmanager.log', policy).allow).toBe(true)
    expect(run(operator, 'GET', '/jobmanager/config', policy).allow).toBe(false)
    expect(run(operator, 'GET', '/jobmanager/thread-dump', policy).allow).toBe(false)
    expect(run(asPreset('viewer'), 'GET', '/jobmanager/log', policy).allow).toBe(false)
  })
})

describe('compilePolicy() refuses a bad policy, naming the key', () => {
  it.each([
    [{ roles: { ops: 'superuser' } }, 'authz.roles.ops'],
    [{ roles: {}, sensLogsFor: 'viewer' }, 'authz.sensLogsFor'],
    [{ roles: {}, rules: [{ effect: 'permit', path: '/' }] }, 'authz.rules[0].effect'],
    [{ roles: {}, rules: [{ effect: 'allow', path: '/', methods: ['get'] }] }, 'authz.rules[0].methods'],
    [{ roles: {}, rules: [{ effect: 'allow', path: '/', presets: ['root'] }] }, 'authz.rules[0].presets'],
    [{ roles: {}, rules: [{ effect: 'allow', path: 'jobs' }] }, 'authz.rules[0].path'],
    [{ roles: {}, rules: [{ effect: 'allow', path: '/jobs/' }] }, 'authz.rules[0].path'],
    [{ roles: {}, rules: [{ effect: 'allow', path: '/jobs//x' }] }, 'authz.rules[0].path'],
    [{ roles: {}, rules: [{ effect: 'allow', path: '/**/x' }] }, 'authz.rules[0].path'],
    [{ roles: {}, rules: [{ effect: 'allow', path: '/jo*' }] }, 'authz.rules[0].path'],
  ])('%j', (policy, keyPath) => {
    let error: unknown
    try {
      compilePolicy(policy as unknown as AuthzPolicy)
    } catch (caught) {
      error = caught
    }
    expect(error).toBeInstanceOf(FlinkGuardError)
    expect((error as FlinkGuardError).code).toBe('FG_ERR_CONFIG_INVALID')
    expect((error as FlinkGuardError).message).toContain(`"${keyPath}"`)
  })
})

describe('the kubernetes-operator profile', () => {
  /**
   * The calls of the Flink Kubernetes Operator 1.15.0 and its autoscaler, written out again from the operator's
   * source (AbstractFlinkService, NativeFlinkService, SessionReconciler, RestApiMetricsCollector,
   * ScalingMetricCollector) rather than read from profiles.ts.
   */
  const OPERATOR_CALLS = new Set([
    'GET /config',
    'GET /jobs/overview',
    'GET /jobs/:jobid',
    'GET /jobs/:jobid/execution-result',
    'PATCH /jobs/:jobid',
    'GET /jobs/:jobid/exceptions',
    'GET /jobs/:jobid/checkpoints',
    'POST /jobs/:jobid/checkpoints',
    'GET /jobs/:jobid/checkpoints/:triggerid',
    'GET /jobs/:jobid/checkpoints/details/:checkpointid',
    'POST /jobs/:jobid/savepoints',
    'GET /jobs/:jobid/savepoints/:triggerid',
    'POST /jobs/:jobid/stop',
    'GET /jobs/:jobid/metrics',
    'GET /jobs/:jobid/resource-requirements',
    'PUT /jobs/:jobid/resource-requirements',
    'GET /jobs/:jobid/vertices/:vertexid/subtasks/metrics',
    'GET /jobmanager/metrics',
    'GET /taskmanagers',
    'GET /taskmanagers/metrics',
    'POST /jars/upload',
    'POST /jars/:jarid/run',
    'DELETE /jars/:jarid',
    'POST /savepoint-disposal',
  ])
  const operatorPolicy = compilePolicy({
    roles: ROLES,
    profiles: { 'flink-operator': 'kubernetes-operator' },
  })
  const operator = identity(['flink-operator'], 'flink-operator')

  it.each(FLINK_ROUTES.map((route) => [`${route.method} ${route.template}`, route] as const))(
    '%s: allowed exactly when the operator makes that call',
    (call, route) => {
      const decision = run(operator, route.method, fill(route.template), operatorPolicy)
      if (OPERATOR_CALLS.has(call)) {
        expect(decision).toMatchObject({
          allow: true,
          profile: 'kubernetes-operator',
          preset: null,
          rule: null,
        })
      } else {
        expect(decision).toMatchObject({ allow: false, code: 'FG_ERR_AUTHZ_PROFILE_DENIED' })
      }
    },
  )

  it('lists only routes flink-guard knows, and every one of them is allowed', () => {
    const known = new Set(FLINK_ROUTES.map((route) => `${route.method} ${route.template}`))
    for (const call of OPERATOR_CALLS) expect(known.has(call), call).toBe(true)
  })

  it.each([
    ['DELETE', '/cluster'],
    ['GET', '/jobmanager/logs'],
    ['GET', '/jobmanager/log'],
    ['GET', '/jobmanager/config'],
    ['GET', `/jobs/${J}/jobmanager/config`],
    ['GET', '/savepoint-disposal/0f6bd3b1a6d3b4e5f60718293a4b5c6d'],
    ['POST', '/jobs'],
    ['GET', '/jars'],
    ['POST', '/jars/x.jar/plan'],
    ['GET', `/jobs/${J}/yarn-cancel`],
    ['GET', '/index.html'],
  ])('refuses %s %s with the profile named', (method, target) => {
    const decision = run(operator, method, target, operatorPolicy)
    expect(decision).toMatchObject({ allow: false, code: 'FG_ERR_AUTHZ_PROFILE_DENIED' })
    expect(decision.allow === false && decision.reason).toMatch(
      /is not a call of profile kubernetes-operator$/,
    )
  })

  it('refuses a route it does not know, and a bad parameter on a route it allows', () => {
    expect(run(operator, 'GET', '/jobs/overview/extra', operatorPolicy)).toMatchObject({
      code: 'FG_ERR_AUTHZ_UNKNOWN_ROUTE',
    })
    expect(run(operator, 'PATCH', '/jobs/not-a-job-id', operatorPolicy)).toMatchObject({
      code: 'FG_ERR_PATH_PARAM_INVALID',
    })
  })

  it('a deny rule still wins over the profile', () => {
    const policy = compilePolicy({
      roles: ROLES,
      profiles: { 'flink-operator': 'kubernetes-operator' },
      rules: [{ effect: 'deny', methods: ['POST'], path: '/savepoint-disposal' }],
    })
    expect(run(operator, 'POST', '/savepoint-disposal', policy)).toMatchObject({
      allow: false,
      code: 'FG_ERR_AUTHZ_RULE_DENIED',
    })
  })

  it('adds to a preset: a viewer who is also the operator may cancel but not read the logs', () => {
    const both = identity(['flink-viewers', 'flink-operator'])
    expect(run(both, 'PATCH', `/jobs/${J}`, operatorPolicy)).toMatchObject({
      allow: true,
      preset: 'viewer',
      profile: 'kubernetes-operator',
    })
    expect(run(both, 'GET', '/jobs', operatorPolicy)).toMatchObject({ allow: true, profile: null })
    expect(run(both, 'GET', '/jobmanager/logs', operatorPolicy)).toMatchObject({
      code: 'FG_ERR_AUTHZ_PRESET_INSUFFICIENT',
    })
  })

  it('a role mapped to nothing is not the operator', () => {
    expect(run(identity(['flink-operators-x']), 'GET', '/config', operatorPolicy)).toMatchObject({
      code: 'FG_ERR_AUTHZ_NO_PRESET',
    })
  })

  it.each([['kubernetes'], ['Kubernetes-Operator'], ['admin'], [''], [null], [['kubernetes-operator']]])(
    'refuses the profile name %j at compile time',
    (value) => {
      expect(() =>
        compilePolicy({ roles: {}, profiles: { ops: value as unknown as 'kubernetes-operator' } }),
      ).toThrow(/"authz\.profiles\.ops" must be kubernetes-operator/)
    },
  )
})
