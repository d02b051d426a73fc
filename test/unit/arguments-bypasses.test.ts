/**
 * Inputs a security review found that flink-guard's argument rules and jar-only upload screen let through,
 * although Flink (Jackson 2.14.2/2.20.1 and Netty 4.1.91/4.2.6 as flink-shaded ships them for 1.20 and 2.x,
 * checked with those jars) reads them as forbidden arguments or as a non-jar file part.
 */
import { Readable } from 'node:stream'
import { buffer } from 'node:stream/consumers'
import { Value } from '@sinclair/typebox/value'
import { describe, expect, it } from 'vitest'
import { ArgumentGrantSchema } from '../../src/arguments/config.js'
import { JarUploadScreen, uploadBoundary } from '../../src/arguments/jar-upload.js'
import { type ArgumentGrant, argumentActionOf } from '../../src/arguments/rules.js'
import { argumentsProblem } from '../../src/arguments/screen.js'
import type { Identity } from '../../src/auth/identity.js'

const GRANTS = [
  Value.Default(ArgumentGrantSchema, {
    roles: ['team-a'],
    savepointDirs: ['s3://flink/team-a/'],
    entryClasses: ['com.example.teama.*'],
    maxParallelism: 4,
  }) as ArgumentGrant,
]
const teamA: Identity = { subject: 'alice', roles: ['team-a'], method: 'basic', claims: {} }

/** What the proxy makes of a run's body bytes and raw query: the refusal's code and message, or null. */
function judgeRun(body: Buffer, rawQuery: string): string | null {
  const problem = argumentsProblem('run', body, rawQuery, teamA, GRANTS)
  return problem === null ? null : `${problem.code}: ${problem.message}`
}

describe('argument rules: what Flink reads but the rules miss', () => {
  // AllowNonRestoredStateQueryParameter.convertStringToValue is Boolean.valueOf: case-insensitive.
  const skipsState = /FG_ERR_AUTHZ_ARGUMENT_DENIED: .*allowNonRestoredState is not allowed/
  it.each(['TRUE', 'True', '1', ''])('refuses ?allowNonRestoredState=%s (Boolean.valueOf)', (value) => {
    expect(judgeRun(Buffer.from('{}'), `allowNonRestoredState=${value}`)).toMatch(skipsState)
  })
  // Jackson's Boolean accepts "TRUE", "True" and 1; "" and " " are null, and then the query decides.
  it.each([
    ['"TRUE"', ''],
    ['"True"', ''],
    ['1', ''],
    ['"false "', ''],
    ['""', 'allowNonRestoredState=true'],
    ['" "', 'allowNonRestoredState=true'],
    ['null', 'allowNonRestoredState=true'],
  ])('refuses allowNonRestoredState: %s in the body (query %s)', (value, query) => {
    expect(judgeRun(Buffer.from(`{"allowNonRestoredState":${value}}`), query)).toMatch(skipsState)
  })
  it('refuses a run whose flinkConfiguration sets the default for allowNonRestoredState', () => {
    const grants = [
      { ...GRANTS[0]!, flinkConfiguration: ['execution.state-recovery.ignore-unclaimed-state'] },
    ]
    const body = '{"flinkConfiguration":{"execution.state-recovery.ignore-unclaimed-state":"true"}}'
    expect(argumentsProblem('run', Buffer.from(body), '', teamA, grants)?.message).toMatch(
      /allowNonRestoredState is not allowed/,
    )
  })
  it.each([
    ['{"allowNonRestoredState":false}', ''],
    ['{}', 'allowNonRestoredState=false'],
    ['{"allowNonRestoredState":false}', 'allowNonRestoredState=true'],
  ])('allows %s with query %s (no state skipped)', (body, query) => {
    expect(judgeRun(Buffer.from(body), query)).toBeNull()
  })
  // Jackson maps "" (and a blank string) to a null Integer, so Flink falls back to the query's parallelism.
  it.each(['""', '" "', 'null'])('refuses parallelism %s in the body with ?parallelism=1000', (value) => {
    expect(judgeRun(Buffer.from(`{"parallelism":${value}}`), 'parallelism=1000')).toMatch(
      /parallelism 1000 is above 4/,
    )
  })
  it.each([
    ['{"parallelism":""}', ''],
    ['{"parallelism":" 3 "}', ''],
    ['{"parallelism":2}', 'parallelism=1000'],
  ])('allows %s with query %s', (body, query) => {
    expect(judgeRun(Buffer.from(body), query)).toBeNull()
  })
  it.each(['"1e3"', '"0x10"', '1.5', 'true'])(
    'refuses parallelism %s Flink would not read as given',
    (value) => {
      expect(judgeRun(Buffer.from(`{"parallelism":${value}}`), '')).toMatch(
        /parallelism is not a plain integer/,
      )
    },
  )
  // emptyToNull: an empty entry class in the body gives way to the query's.
  it('refuses entryClass "" in the body with ?entry-class=com.evil.Main', () => {
    expect(judgeRun(Buffer.from('{"entryClass":""}'), 'entry-class=com.evil.Main')).toMatch(
      /entry class "com.evil.Main" is not allowed/,
    )
  })
  // StateRecoveryOptions.SAVEPOINT_PATH is execution.state-recovery.path; execution.savepoint.path its alias.
  it.each(['execution.state-recovery.path', 'execution.savepoint.path'])(
    'judges flinkConfiguration.%s as a restore path',
    (key) => {
      const outside = JSON.stringify({ flinkConfiguration: { [key]: 's3://flink/team-b/savepoint-1' } })
      expect(judgeRun(Buffer.from(outside), '')).toMatch(/outside the allowed savepoint directories/)
      const inside = JSON.stringify({ flinkConfiguration: { [key]: 's3://flink/team-a/savepoint-1' } })
      expect(judgeRun(Buffer.from(inside), '')).toBeNull()
    },
  )
  // JarPlanHandler runs the jar's main() with the same arguments as a run.
  it.each(['POST', 'GET'])('judges %s /jars/:jarid/plan as a run', (method) => {
    expect(argumentActionOf(method, '/jars/:jarid/plan')).toBe('run')
  })
  // Netty's QueryStringDecoder (as RouterHandler builds it) splits the query at ";" as at "&".
  it.each([
    'x=;savepointPath=s3://flink/team-b/savepoint-1',
    'x=;entry-class=com.evil.Main',
    'x=;parallelism=1000',
    'x=;allowNonRestoredState=true',
    'entry-class=com.example.teama.Main#&entry-class=com.evil.Main',
  ])('refuses a run parameter after ";" in the query: %s', (query) => {
    expect(judgeRun(Buffer.from('{}'), query)).toMatch(
      /FG_ERR_REQUEST_MALFORMED: .*the query contains ";" or "#"/,
    )
  })
  // Netty skips only the "?" that ends the path, drops a "=" that starts a name, and reads 1024 parameters:
  // each of these would hide from URLSearchParams a parameter Flink reads (src/authz/flink-query.ts).
  it.each([
    ['?savepointPath=s3://flink/team-b/savepoint-1', /starts with "\?"/],
    ['x=1&=savepointPath=s3://flink/team-b/savepoint-1', /has no name/],
    ['=entry-class=com.evil.Main', /has no name/],
    [`${'a&'.repeat(1023)}savepointPath=s3://flink/team-b/savepoint-1`, /more than 100 parameters/],
  ])('refuses a run query Netty reads differently: %s', (query, problem) => {
    expect(judgeRun(Buffer.from('{}'), query)).toMatch(problem)
  })
  it('allows an encoded ";" in a query value', () => {
    expect(judgeRun(Buffer.from('{}'), 'programArg=a%3Bb&entry-class=com.example.teama.Main')).toBeNull()
  })
  // Flink hands Jackson the body bytes (AbstractHandler: ByteBufInputStream); its UTF-8 reader decodes the
  // overlong C0 AE as "." where Node's decoder gives U+FFFD: Flink restores from s3://flink/team-b/.
  it('refuses overlong UTF-8 that Jackson decodes to "../"', () => {
    const dotdot = Buffer.from([0xc0, 0xae, 0xc0, 0xae])
    const body = Buffer.concat([
      Buffer.from('{"savepointPath":"s3://flink/team-a/'),
      dotdot,
      Buffer.from('/team-b/savepoint-1"}'),
    ])
    expect(judgeRun(body, '')).toMatch(/FG_ERR_REQUEST_MALFORMED: .*not valid UTF-8/)
  })
  it('refuses a key in overlong UTF-8 that Jackson reads as savepointPath', () => {
    const body = Buffer.concat([
      Buffer.from('{"savepointP'),
      Buffer.from([0xc1, 0xa1]),
      Buffer.from('th":"s3://flink/team-b/savepoint-1"}'),
    ])
    expect(judgeRun(body, '')).toMatch(/FG_ERR_REQUEST_MALFORMED: .*not valid UTF-8/)
  })
  it('judges a body of valid multi-byte UTF-8 as written', () => {
    const body = Buffer.from('{"savepointPath":"s3://flink/team-a/größe"}')
    expect(judgeRun(body, '')).toBeNull()
  })
})

const EVIL = 'Content-Disposition: form-data; name="jarfile"; filename="evil.jar"'
/** Through the screen as the proxy would, for `contentType` (in chunks of `size`): what came out, or the refusal. */
async function screened(contentType: string, body: string, size = 1 << 20): Promise<string> {
  const bytes = Buffer.from(body, 'latin1')
  const chunks: Buffer[] = []
  for (let at = 0; at < bytes.length; at += size) chunks.push(bytes.subarray(at, at + size))
  try {
    const out = await buffer(Readable.from(chunks).pipe(new JarUploadScreen(uploadBoundary(contentType))))
    return `PASSED ${out.toString('latin1')}`
  } catch (err) {
    return (err as Error).message
  }
}

describe('jar-only uploads: bodies Netty splits into a non-jar file part', () => {
  // Each of these Netty 4.1.91 and 4.2.6's HttpPostRequestDecoder decodes as a FileUpload "evil.jar"
  // whose content is "#!/bin/sh evil".
  it.each([
    // getMultipartDataBoundary matches the parameter name "boundary" as a prefix (regionMatches): AAA.
    [
      'a parameter named boundaryx before boundary',
      'multipart/form-data; boundaryx=AAA; boundary=BBB',
      `--AAA\r\n${EVIL}\r\n\r\n#!/bin/sh evil\r\n--AAA--\r\n`,
    ],
    // findMultipartDelimiter skips whitespace and control characters before the first delimiter.
    [
      'whitespace before the first delimiter',
      'multipart/form-data; boundary=BBB',
      ` --BBB\r\n${EVIL}\r\n\r\n#!/bin/sh evil\r\n--BBB--\r\n`,
    ],
    // splitMultipartHeader ends the header name at whitespace or ":".
    [
      'a space before the header colon',
      'multipart/form-data; boundary=BBB',
      `--BBB\r\nContent-Disposition : form-data; name="jarfile"; filename="evil.jar"\r\n\r\n#!/bin/sh evil\r\n--BBB--\r\n`,
    ],
    [
      'a tab before the header colon',
      'multipart/form-data; boundary=BBB',
      `--BBB\r\nContent-Disposition\t: form-data; name="jarfile"; filename="evil.jar"\r\n\r\n#!/bin/sh evil\r\n--BBB--\r\n`,
    ],
    // ...and skips leading whitespace of a header line.
    [
      'whitespace before the header name',
      'multipart/form-data; boundary=BBB',
      `--BBB\r\n ${EVIL}\r\n\r\n#!/bin/sh evil\r\n--BBB--\r\n`,
    ],
    [
      'a control byte before the first delimiter',
      'multipart/form-data; boundary=BBB',
      `\r\n\u0001--BBB\r\n${EVIL}\r\n\r\n#!/bin/sh evil\r\n--BBB--\r\n`,
    ],
    [
      'padding after a delimiter',
      'multipart/form-data; boundary=BBB',
      `--BBB \r\n${EVIL}\r\n\r\n#!/bin/sh evil\r\n--BBB--\r\n`,
    ],
    [
      'a folded header line',
      'multipart/form-data; boundary=BBB',
      `--BBB\r\nContent-Disposition: form-data; name="jarfile";\r\n\tfilename="evil.jar"\r\n\r\n#!/bin/sh evil\r\n--BBB--\r\n`,
    ],
    [
      'a nested multipart named after a comma',
      'multipart/form-data; boundary=BBB',
      `--BBB\r\nContent-Disposition: form-data; name="files"\r\nContent-Type: text/plain, multipart/mixed\r\n\r\nx\r\n--BBB--\r\n`,
    ],
  ])('refuses %s', async (_name, contentType, body) => {
    for (const size of [1, 3, 1 << 20]) {
      expect(await screened(contentType, body, size)).toMatch(/^The upload is refused: /)
    }
  })

  it.each(['multipart/form-data; boundary=BBB; charset=UTF-8', 'multipart/form-data;boundary="BBB"'])(
    'passes a plain jar upload with content type %s',
    async (contentType) => {
      const body = `--BBB\r\n${EVIL}\r\n\r\nPK\u0003\u0004jar\r\n--BBB--\r\n`
      expect(await screened(contentType, body, 2)).toBe(`PASSED ${body}`)
    },
  )

  it.each([
    'multipart/form-data; boundaryx=AAA; boundary=BBB',
    'multipart/form-data; boundary=BBB; name=x',
    'multipart/form-data; boundary=BBB; charset=a; charset=b',
    'multipart/form-data; boundary=BBB; charset=',
  ])('refuses the content type %s', (contentType) => {
    expect(() => uploadBoundary(contentType)).toThrow(/with one boundary \(and at most a charset\)/)
  })
})
