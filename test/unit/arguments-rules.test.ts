import { Value } from '@sinclair/typebox/value'
import { describe, expect, it } from 'vitest'
import { ArgumentGrantSchema } from '../../src/arguments/config.js'
import { type ArgumentGrant, argumentActionOf, argumentRefusal } from '../../src/arguments/rules.js'
import { parseStrictJson } from '../../src/arguments/strict-json.js'
import type { Identity } from '../../src/auth/identity.js'

const grant = (raw: Record<string, unknown>): ArgumentGrant =>
  Value.Default(ArgumentGrantSchema, structuredClone(raw)) as ArgumentGrant

const GRANTS = [
  grant({
    roles: ['team-a'],
    savepointDirs: ['s3://flink/team-a/'],
    entryClasses: ['com.example.teama.*', 'org.example.Exact'],
    maxParallelism: 4,
    flinkConfiguration: ['pipeline.name'],
  }),
  grant({ roles: ['team-b'], savepointDirs: ['s3://flink/team-b/'], allowNonRestoredState: true }),
]
const identity = (...roles: string[]): Identity => ({ subject: 'alice', roles, method: 'basic', claims: {} })
const teamA = identity('team-a')
const none = new URLSearchParams()

const refusal = (
  action: Parameters<typeof argumentRefusal>[0],
  body: Record<string, unknown>,
  who = teamA,
  query = none,
) => argumentRefusal(action, body, query, who, GRANTS)

describe('the actions ruled on', () => {
  it.each([
    ['POST', '/jobs/:jobid/savepoints', 'savepoint'],
    ['POST', '/jobs/:jobid/stop', 'stop'],
    ['POST', '/savepoint-disposal', 'disposal'],
    ['POST', '/jars/:jarid/run', 'run'],
    ['POST', '/jars/:jarid/run-application', 'run'],
    ['GET', '/jobs/:jobid/savepoints', null],
    ['PATCH', '/jobs/:jobid', null],
    ['POST', undefined, null],
  ])('%s %s is %s', (method, template, action) => {
    expect(argumentActionOf(method, template)).toBe(action)
  })
})

describe('savepoint, stop and disposal paths', () => {
  it('allow a directory under one of the caller’s prefixes, and no directory (Flink’s default)', () => {
    expect(refusal('savepoint', { 'target-directory': 's3://flink/team-a/sp-1' })).toBeNull()
    expect(refusal('stop', { targetDirectory: 's3://flink/team-a/' })).toBeNull()
    expect(refusal('disposal', { 'savepoint-path': 's3://flink/team-a/sp-1/_metadata' })).toBeNull()
    expect(refusal('savepoint', {})).toBeNull()
    expect(refusal('savepoint', { 'cancel-job': false })).toBeNull()
  })

  it.each([
    ['another team’s bucket', 's3://flink/team-b/sp-1'],
    ['the host’s files', 'file:///etc/flink'],
    ['a prefix without its slash', 's3://flink/team-a-evil/sp'],
    ['a dot-dot segment', 's3://flink/team-a/../team-b/sp'],
    ['a trailing dot-dot', 's3://flink/team-a/..'],
    ['a dot segment', 's3://flink/team-a/./sp'],
    ['an encoded dot-dot', 's3://flink/team-a/%2e%2e/team-b'],
    ['a double slash', 's3://flink/team-a//sp'],
    ['a backslash', 's3://flink/team-a/..\\team-b'],
    ['a control character', 's3://flink/team-a/sp\n'],
    ['another spelling of the scheme', 'S3://flink/team-a/sp'],
  ])('refuse %s', (_what, path) => {
    expect(refusal('savepoint', { 'target-directory': path })).toMatch(
      /^authz\.arguments\[0\]: target-directory/,
    )
    expect(refusal('stop', { targetDirectory: path })).toMatch(/targetDirectory/)
    expect(refusal('disposal', { 'savepoint-path': path })).toMatch(/savepoint-path/)
  })

  it('are judged by the caller’s grants only: team-b’s directory is team-b’s', () => {
    expect(
      refusal('savepoint', { 'target-directory': 's3://flink/team-b/sp' }, identity('team-b')),
    ).toBeNull()
    expect(refusal('savepoint', { 'target-directory': 's3://flink/team-b/sp' }, identity('team-c'))).toBe(
      'no rule of authz.arguments is yours',
    )
  })
})

describe('a jar run', () => {
  it('is allowed within the grant', () => {
    expect(
      refusal('run', {
        entryClass: 'com.example.teama.Orders',
        parallelism: 4,
        savepointPath: 's3://flink/team-a/sp-1',
        flinkConfiguration: { 'pipeline.name': 'orders' },
        programArgsList: ['--anything'],
      }),
    ).toBeNull()
    expect(refusal('run', { entryClass: 'org.example.Exact' })).toBeNull()
    expect(refusal('run', {})).toBeNull()
  })

  it.each([
    ['an entry class outside the patterns', { entryClass: 'com.example.teamb.Orders' }, /entry class/],
    ['a package pattern not matching a prefix', { entryClass: 'com.example.teamaEvil.X' }, /entry class/],
    ['an exact class with a suffix', { entryClass: 'org.example.ExactX' }, /entry class/],
    ['parallelism above the cap', { parallelism: 5 }, /parallelism 5 is above 4/],
    ['a parallelism that is no integer', { parallelism: 2.5 }, /parallelism/],
    ['allowNonRestoredState', { allowNonRestoredState: true }, /allowNonRestoredState/],
    ['a restore path outside', { savepointPath: 's3://flink/team-b/sp' }, /savepointPath/],
    [
      'a restore path in flinkConfiguration',
      { flinkConfiguration: { 'execution.savepoint.path': 'file:///etc' } },
      /flinkConfiguration\.execution\.savepoint\.path/,
    ],
    [
      'a classpath in flinkConfiguration',
      { flinkConfiguration: { 'pipeline.classpaths': 'http://evil/x.jar' } },
      /flinkConfiguration may not set pipeline\.classpaths/,
    ],
  ])('refuses %s', (_what, body, reason) => {
    expect(refusal('run', body as Record<string, unknown>)).toMatch(reason)
  })

  it('reads the query parameters Flink also reads', () => {
    const query = (text: string) => new URLSearchParams(text)
    expect(refusal('run', {}, teamA, query('savepointPath=file:///etc'))).toMatch(/savepointPath \(query\)/)
    expect(refusal('run', {}, teamA, query('entry-class=com.evil.Main'))).toMatch(/entry class/)
    expect(refusal('run', {}, teamA, query('parallelism=64'))).toMatch(/parallelism/)
    expect(refusal('run', {}, teamA, query('allowNonRestoredState=true'))).toMatch(/allowNonRestoredState/)
    expect(refusal('run', {}, identity('team-b'), query('allowNonRestoredState=true'))).toBeNull()
  })
})

describe('parseStrictJson', () => {
  it('parses JSON', () => {
    expect(parseStrictJson('{"a":{"b":[1,{"c":"}"}]},"d":"\\"x"}')).toEqual({
      value: { a: { b: [1, { c: '}' }] }, d: '"x' },
    })
  })
  it.each([
    ['{"target-directory":"s3://a/","target-directory":"file:///etc"}', 'target-directory'],
    ['{"a":{"x":1,"x":2}}', 'x'],
    ['{"savepointPath":"a","\\u0073avepointPath":"b"}', 'savepointPath'],
    ['[{"a":1},{"b":1,"b":2}]', 'b'],
  ])('refuses a repeated key: %s', (text, key) => {
    expect(parseStrictJson(text)).toEqual({ problem: `the body repeats the key "${key}"` })
  })
  it('allows the same key in sibling objects', () => {
    expect(parseStrictJson('[{"a":1},{"a":2}]')).toEqual({ value: [{ a: 1 }, { a: 2 }] })
  })
  it('refuses text that is not JSON', () => {
    expect(parseStrictJson('{"a":')).toMatchObject({
      problem: expect.stringMatching(/^the body is not JSON/),
    })
  })
})
