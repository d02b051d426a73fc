import { describe, expect, it } from 'vitest'
import { canonicalize } from '../../src/authz/canonical-path.js'
import { matchRoute } from '../../src/authz/match.js'
import { STATIC_UI_ROUTE } from '../../src/authz/routes.js'

const J = '6b1af540c0c0bb3fcf1cfcb4a3d2a1b9'
const V = 'cbc357ccb763df2852fee8c4fc7d55f2'

const matchTarget = (method: string, target: string) => {
  const canonical = canonicalize(target)
  if (!canonical.ok) throw new Error(`${target} refused: ${canonical.code}`)
  return matchRoute(method, canonical.matchPath)
}

describe('route matching', () => {
  it.each([
    ['GET', '/jobs/overview', '/jobs/overview'],
    ['GET', `/jobs/${J}`, '/jobs/:jobid'],
    ['PATCH', `/jobs/${J}`, '/jobs/:jobid'],
    ['GET', '/taskmanagers/metrics', '/taskmanagers/metrics'],
    ['GET', '/taskmanagers/tm-1', '/taskmanagers/:taskmanagerid'],
    ['GET', `/jobs/${J}/checkpoints/config`, '/jobs/:jobid/checkpoints/config'],
    ['GET', `/jobs/${J}/checkpoints/${V}`, '/jobs/:jobid/checkpoints/:triggerid'],
    ['GET', `/jobs/${J}/checkpoints/details/7`, '/jobs/:jobid/checkpoints/details/:checkpointid'],
    ['GET', `/jobs/${J}/vertices/${V}/subtasks/metrics`, '/jobs/:jobid/vertices/:vertexid/subtasks/metrics'],
    ['GET', `/jobs/${J}/vertices/${V}/subtasks/3`, '/jobs/:jobid/vertices/:vertexid/subtasks/:subtaskindex'],
    ['GET', '/applications/overview', '/applications/overview'],
    ['GET', `/applications/${J}`, '/applications/:applicationid'],
    ['GET', `/v1/jobs/${J}/yarn-cancel`, '/jobs/:jobid/yarn-cancel'],
    ['GET', `/jobs/${J}/yarn-cancel/`, '/jobs/:jobid/yarn-cancel'],
    ['GET', '/config', '/config'],
    ['GET', '/config/', '/config'],
    ['DELETE', '/v1/cluster', '/cluster'],
    ['POST', '/jars/c4b6a2c0_job.jar/run-application', '/jars/:jarid/run-application'],
    // 2.x names the parameter :operatorUid and takes the uid; the one row matches both lines' spellings.
    ['POST', `/jobs/${J}/coordinators/dataStreamCollect_3`, '/jobs/:jobid/coordinators/:operatorid'],
    ['POST', `/jobs/${J}/coordinators/${J}`, '/jobs/:jobid/coordinators/:operatorid'],
  ])('%s %s -> %s', (method, target, template) => {
    const match = matchTarget(method, target)
    expect(match.kind).toBe('route')
    expect(match.route?.template).toBe(template)
    expect(match.route?.method).toBe(method)
  })

  it('returns the decoded parameters by name', () => {
    const match = matchTarget('GET', `/jobs/${J}/vertices/${V}/subtasks/2/attempts/1/accumulators`)
    expect(match).toMatchObject({
      kind: 'route',
      params: { jobid: J, vertexid: V, subtaskindex: '2', attempt: '1' },
    })
    const jar = matchTarget('POST', '/jars/c4b6a2c0_my%20job.jar/run')
    expect(jar).toMatchObject({ kind: 'route', params: { jarid: 'c4b6a2c0_my job.jar' } })
  })

  it('reports the first bad parameter of a route that fits by shape', () => {
    expect(matchTarget('PATCH', '/jobs/overview')).toMatchObject({ kind: 'bad-param', param: 'jobid' })
    expect(matchTarget('GET', `/jobs/${J.toUpperCase()}/yarn-cancel`)).toMatchObject({
      kind: 'bad-param',
      param: 'jobid',
    })
    expect(matchTarget('GET', `/jobs/${J}/vertices/x/metrics`)).toMatchObject({
      kind: 'bad-param',
      param: 'vertexid',
    })
    expect(matchTarget('GET', '/jobmanager/logs/.profile')).toMatchObject({
      kind: 'bad-param',
      param: 'filename',
    })
    expect(matchTarget('GET', '/jobs/overview/status')).toMatchObject({ kind: 'bad-param', param: 'jobid' })
  })

  it.each([
    '/',
    '/index.html',
    '/main.4f2a1c.js',
    '/styles.css',
    '/assets/images/flink-logo.svg',
    '/favicon.ico',
    '/v1/',
    '/v1/index.html',
    '/libs/x.woff2',
  ])('GET %s is a dashboard file (UI)', (target) => {
    const match = matchTarget('GET', target)
    expect(match.kind).toBe('static')
    expect(match.route).toBe(STATIC_UI_ROUTE)
  })

  it.each([
    ['GET', `/jobs/${J}/YARN-CANCEL`],
    ['GET', `/jobs/${J}/yarn-cancel/x`],
    ['GET', `/JOBS/${J}/yarn-cancel`],
    ['GET', '/Jobmanager/config'],
    ['GET', '/jars/upload'],
    ['GET', '/cluster'],
    ['GET', '/config/x'],
    ['GET', '/overview/x'],
    ['GET', `/v2/jobs/${J}/yarn-cancel`],
    ['GET', `/V1/jobs/${J}/yarn-cancel`],
    ['GET', `/v1/v1/jobs/${J}/yarn-cancel`],
    ['GET', '/v0/jobs/overview'],
    ['GET', `/jobs/${J}/yarn-cancel%3F`],
    ['POST', '/index.html'],
    ['POST', '/'],
    ['HEAD', '/jobs/overview'],
    ['OPTIONS', '/jobs/overview'],
    ['get', '/jobs/overview'],
    ['PUT', `/jobs/${J}`],
    ['DELETE', '/jobs'],
  ])('%s %s is an unknown route', (method, target) => {
    expect(matchTarget(method, target)).toEqual({ kind: 'unknown', route: null })
  })
})
