import { describe, expect, it } from 'vitest'
import type { Identity } from '../../src/auth/identity.js'
import { createCatalog, parseJobList } from '../../src/job-scope/catalog.js'
import { compileJobScope } from '../../src/job-scope/scope.js'

const who = (subject: string, roles: string[]): Identity => ({ subject, roles, method: 'basic', claims: {} })
const job = (name: string, id = '0'.repeat(32)) => ({ id, name })

describe('job grants', () => {
  const policy = compileJobScope({
    cacheMs: 0,
    grants: [
      { roles: ['team-a'], names: ['team-a-*'], ids: [], ownJobs: false, access: 'operate' as const },
      {
        subjects: ['carol'],
        names: ['reports.(daily)'],
        ids: ['ABCDEF0123456789ABCDEF0123456789'],
        ownJobs: false,
        access: 'operate' as const,
      },
      { names: ['public-*'], ids: [], ownJobs: false, access: 'operate' as const },
    ],
  })!

  it("match names as anchored globs: '*' is any run, everything else literal", () => {
    const a = policy.scopeOf(who('alice', ['team-a']))
    expect(a.covers(job('team-a-orders'), 'view', null)).toBe(true)
    expect(a.covers(job('team-a-'), 'view', null)).toBe(true)
    expect(a.covers(job('team-a'), 'view', null)).toBe(false)
    expect(a.covers(job('xteam-a-orders'), 'view', null)).toBe(false)
    expect(a.covers(job('team-b-orders'), 'view', null)).toBe(false)
    expect(a.covers(job('Team-A-orders'), 'view', null)).toBe(false)
    // The grant anyone holds (no roles, no subjects).
    expect(a.covers(job('public-dashboard'), 'view', null)).toBe(true)
  })

  it('read regular-expression characters in a pattern literally', () => {
    const carol = policy.scopeOf(who('carol', []))
    expect(carol.covers(job('reports.(daily)'), 'view', null)).toBe(true)
    expect(carol.covers(job('reportsX(daily)'), 'view', null)).toBe(false)
    expect(carol.covers(job('reports.daily'), 'view', null)).toBe(false)
    expect(carol.covers(job('team-a-orders'), 'view', null)).toBe(false)
  })

  it('cover a listed id whatever the job is called (ids compared in lower case)', () => {
    const carol = policy.scopeOf(who('carol', []))
    expect(carol.covers(job('anything', 'abcdef0123456789abcdef0123456789'), 'view', null)).toBe(true)
    expect(
      policy
        .scopeOf(who('dave', []))
        .covers(job('anything', 'abcdef0123456789abcdef0123456789'), 'view', null),
    ).toBe(false)
  })

  it('a name with a line break does not slip past an anchor', () => {
    const a = policy.scopeOf(who('alice', ['team-a']))
    expect(a.covers(job('team-b-x\nteam-a-y'), 'view', null)).toBe(false)
    expect(a.covers(job('team-a-x\nteam-b-y'), 'view', null)).toBe(true)
  })

  it('give a caller with no grant no jobs, and say so', () => {
    const none = compileJobScope({
      cacheMs: 0,
      grants: [{ roles: ['team-a'], names: ['*'], ids: [], ownJobs: false, access: 'operate' as const }],
    })!
    const scope = none.scopeOf(who('eve', ['team-b']))
    expect(scope.covers(job('team-a-orders'), 'view', null)).toBe(false)
    expect(scope.description).toBe('no jobs')
  })

  it('is off when not configured', () => {
    expect(compileJobScope(undefined)).toBeNull()
  })
})

describe('grants of the jobs one submitted, and to view', () => {
  const policy = compileJobScope({
    cacheMs: 0,
    grants: [
      { names: ['*'], ids: [], ownJobs: false, access: 'view' as const },
      { roles: ['devs'], names: [], ids: [], ownJobs: true, access: 'operate' as const },
    ],
  })!
  const ana = policy.scopeOf(who('ana', ['devs']))

  it("cover a job for its recorded submitter only, never for an unknown one or another's", () => {
    expect(ana.readsOwners).toBe(true)
    expect(ana.covers(job('etl'), 'operate', 'ana')).toBe(true)
    expect(ana.covers(job('etl'), 'operate', 'ben')).toBe(false)
    expect(ana.covers(job('etl'), 'operate', null)).toBe(false)
    // Subjects are compared exactly.
    expect(ana.covers(job('etl'), 'operate', 'Ana')).toBe(false)
    expect(ana.covers(job('etl'), 'operate', 'ana ')).toBe(false)
  })

  it('never give an anonymous caller a job recorded for the subject "anonymous"', () => {
    const anonymous: Identity = { subject: 'anonymous', roles: ['devs'], method: 'anonymous', claims: {} }
    expect(policy.scopeOf(anonymous).covers(job('etl'), 'operate', 'anonymous')).toBe(false)
    expect(policy.scopeOf(who('anonymous', ['devs'])).covers(job('etl'), 'operate', 'anonymous')).toBe(true)
  })

  it('let a view grant see every job and act on none', () => {
    const guest = policy.scopeOf(who('gus', []))
    expect(guest.readsOwners).toBe(false)
    expect(guest.covers(job('etl'), 'view', null)).toBe(true)
    expect(guest.covers(job('etl'), 'operate', null)).toBe(false)
    // An ownJobs grant is not held by a caller outside its roles, whoever the record names.
    expect(guest.covers(job('etl'), 'operate', 'gus')).toBe(false)
    expect(guest.coversEveryJob('view')).toBe(true)
    expect(guest.coversEveryJob('operate')).toBe(false)
    expect(guest.description).toBe('jobs * (to view)')
    expect(ana.description).toBe('jobs * (to view); the jobs you submitted')
  })
})

describe("Flink's job list", () => {
  it('is read by id in lower case', () => {
    const list = parseJobList(
      '{"jobs":[{"jid":"ABCDEF0123456789ABCDEF0123456789","name":"n","state":"RUNNING"}]}',
    )
    expect(list.get('abcdef0123456789abcdef0123456789')).toEqual({
      id: 'abcdef0123456789abcdef0123456789',
      name: 'n',
      state: 'RUNNING',
    })
  })

  it.each(['not json', '{}', '{"jobs":{}}', '{"jobs":[{"jid":"x"}]}', '{"jobs":[null]}'])(
    'refuses %s rather than guess',
    (text) => {
      expect(() => parseJobList(text)).toThrow(/job list.*cannot be used/)
    },
  )

  it('gives a fresh list only from a fetch that began after it was asked for', async () => {
    let fetches = 0
    const catalog = createCatalog(async () => {
      const mine = ++fetches
      await new Promise((resolve) => setTimeout(resolve, 20))
      return parseJobList(`{"jobs":[{"jid":"${String(mine).repeat(32)}","name":"n","state":"RUNNING"}]}`)
    })
    const older = catalog.jobs(0)
    const fresh = catalog.fresh()
    expect([...(await older).keys()]).toEqual(['1'.repeat(32)])
    // The fetch under way when fresh() was called is not its answer: a second one is.
    expect([...(await fresh).keys()]).toEqual(['2'.repeat(32)])
    expect(fetches).toBe(2)
  })

  it('is fetched once for callers who ask at the same time, and not kept when the fetch fails', async () => {
    let fetches = 0
    let fail = true
    const catalog = createCatalog(async () => {
      fetches++
      await new Promise((resolve) => setTimeout(resolve, 10))
      if (fail) throw new Error('Flink is down')
      return parseJobList('{"jobs":[]}')
    })
    const both = await Promise.allSettled([catalog.jobs(60_000), catalog.jobs(60_000)])
    expect(both.map((result) => result.status)).toEqual(['rejected', 'rejected'])
    expect(fetches).toBe(1)
    fail = false
    // For 250 ms the failure is the answer: a Flink that errors is not asked once per request.
    await expect(catalog.jobs(60_000)).rejects.toThrow('Flink is down')
    expect(fetches).toBe(1)
    await new Promise((resolve) => setTimeout(resolve, 260))
    expect((await catalog.jobs(60_000)).size).toBe(0)
    expect(fetches).toBe(2)
    await catalog.jobs(60_000)
    expect(fetches).toBe(2)
  })
})
