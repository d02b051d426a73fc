/**
 * Review findings (branch `review`): inputs that flink-guard's argument rules and jar-only upload screen let
 * through, although Flink (Jackson 2.14.2/2.20.1 and Netty 4.1.91/4.2.6 as flink-shaded ships them for 1.20 and
 * 2.x, checked with those jars) reads them as forbidden arguments or as a non-jar file part. Each test states
 * the behaviour a fix must have: they fail on main.
 */
import { Readable } from 'node:stream'
import { buffer } from 'node:stream/consumers'
import { Value } from '@sinclair/typebox/value'
import { describe, expect, it } from 'vitest'
import { ArgumentGrantSchema } from '../../src/arguments/config.js'
import { JarUploadScreen, uploadBoundary } from '../../src/arguments/jar-upload.js'
import { type ArgumentGrant, argumentRefusal } from '../../src/arguments/rules.js'
import { parseStrictJson } from '../../src/arguments/strict-json.js'
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

/** What src/arguments/screen.ts does with a run's body bytes and raw query: the refusal, or null. */
function judgeRun(body: Buffer, rawQuery: string): string | null {
  const parsed = parseStrictJson(body.toString('utf8'))
  if ('problem' in parsed) return parsed.problem
  return argumentRefusal(
    'run',
    parsed.value as Record<string, unknown>,
    new URLSearchParams(rawQuery),
    teamA,
    GRANTS,
  )
}

describe('argument rules: what Flink reads but the rules miss', () => {
  // AllowNonRestoredStateQueryParameter.convertStringToValue is Boolean.valueOf: case-insensitive.
  it('refuses ?allowNonRestoredState=TRUE (Boolean.valueOf)', () => {
    expect(judgeRun(Buffer.from('{}'), 'allowNonRestoredState=TRUE')).not.toBeNull()
  })
  // Jackson's Boolean accepts "TRUE", "True" and 1.
  it.each(['"TRUE"', '"True"', '1'])('refuses allowNonRestoredState: %s in the body', (value) => {
    expect(judgeRun(Buffer.from(`{"allowNonRestoredState":${value}}`), '')).not.toBeNull()
  })
  // Jackson maps "" to a null Integer, so Flink falls back to the query's parallelism.
  it('refuses parallelism "" in the body with ?parallelism=1000', () => {
    expect(judgeRun(Buffer.from('{"parallelism":""}'), 'parallelism=1000')).not.toBeNull()
  })
  // Netty's QueryStringDecoder (as RouterHandler builds it) splits the query at ";" as at "&".
  it.each([
    'x=;savepointPath=s3://flink/team-b/savepoint-1',
    'x=;entry-class=com.evil.Main',
    'x=;parallelism=1000',
    'x=;allowNonRestoredState=true',
  ])('refuses a run parameter after ";" in the query: %s', (query) => {
    expect(judgeRun(Buffer.from('{}'), query)).not.toBeNull()
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
    expect(judgeRun(body, '')).not.toBeNull()
  })
  it('refuses a key in overlong UTF-8 that Jackson reads as savepointPath', () => {
    const body = Buffer.concat([
      Buffer.from('{"savepointP'),
      Buffer.from([0xc1, 0xa1]),
      Buffer.from('th":"s3://flink/team-b/savepoint-1"}'),
    ])
    expect(judgeRun(body, '')).not.toBeNull()
  })
})

const EVIL = 'Content-Disposition: form-data; name="jarfile"; filename="evil.jar"'
/** Through the screen as the proxy would, for `contentType`: what came out, or the refusal's message. */
async function screened(contentType: string, body: string): Promise<string> {
  try {
    const out = await buffer(
      Readable.from([Buffer.from(body, 'latin1')]).pipe(new JarUploadScreen(uploadBoundary(contentType))),
    )
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
  ])('refuses %s', async (_name, contentType, body) => {
    const result = await screened(contentType, body).catch((err: Error) => err.message)
    expect(result).not.toMatch(/^PASSED/)
  })
})
