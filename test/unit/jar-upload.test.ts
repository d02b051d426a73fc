import { Readable } from 'node:stream'
import { buffer } from 'node:stream/consumers'
import { describe, expect, it } from 'vitest'
import { JarUploadScreen, uploadBoundary } from '../../src/arguments/jar-upload.js'

const BOUNDARY = '----flinkguard7f3a'
const JAR = Buffer.concat([
  Buffer.from('PK\u0003\u0004'),
  Buffer.from('rest of a jar \r\n--not-the-boundary'),
])
const part = (headers: string, content: Buffer | string, eol = '\r\n') =>
  Buffer.concat([
    Buffer.from(`--${BOUNDARY}${eol}${headers}${eol}${eol}`),
    Buffer.from(content),
    Buffer.from(eol),
  ])
const filePart = (content: Buffer | string, name = 'job.jar') =>
  part(
    `Content-Disposition: form-data; name="jarfile"; filename="${name}"\r\nContent-Type: application/java-archive`,
    content,
  )
const close = Buffer.from(`--${BOUNDARY}--\r\n`)

/** Runs `body` through a screen in chunks of `size` bytes: what came out, or the refusal. */
async function screened(body: Buffer, size: number): Promise<Buffer | string> {
  const chunks: Buffer[] = []
  for (let at = 0; at < body.length; at += size) chunks.push(body.subarray(at, at + size))
  try {
    return await buffer(Readable.from(chunks).pipe(new JarUploadScreen(BOUNDARY)))
  } catch (err) {
    return (err as Error).message
  }
}

const SIZES = [1, 2, 3, 5, 7, 13, 64, 4096]

describe('JarUploadScreen', () => {
  it.each(SIZES)('passes a jar upload through byte for byte, in chunks of %i', async (size) => {
    const body = Buffer.concat([
      part('Content-Disposition: form-data; name="note"', 'hello'),
      filePart(JAR),
      close,
    ])
    expect(await screened(body, size)).toEqual(body)
  })

  it.each(SIZES)(
    'never passes on a delimiter’s CR apart from its LF, in chunks of %i (Netty would keep the CR as file content)',
    async (size) => {
      const body = Buffer.concat([filePart(JAR), filePart(JAR, 'two.jar'), close])
      const chunks: Buffer[] = []
      for (let at = 0; at < body.length; at += size) chunks.push(body.subarray(at, at + size))
      // 'data' in flowing mode sees each pushed chunk; an async iterator would read them joined.
      const screen = Readable.from(chunks).pipe(new JarUploadScreen(BOUNDARY))
      const out: Buffer[] = []
      screen.on('data', (chunk: Buffer) => out.push(chunk))
      await new Promise((resolve) => screen.on('end', resolve))
      expect(Buffer.concat(out)).toEqual(body)
      const delimiter = Buffer.from(`\n--${BOUNDARY}`)
      const splits: number[] = []
      let at = 0
      for (const chunk of out.slice(0, -1)) {
        at += chunk.length
        if (body[at - 1] === 0x0d && body.subarray(at, at + delimiter.length).equals(delimiter))
          splits.push(at)
      }
      expect(splits).toEqual([])
    },
  )

  it.each(SIZES)(
    'refuses a file that is no jar, in chunks of %i, before its part is passed on',
    async (size) => {
      const body = Buffer.concat([filePart('#!/bin/sh\nrm -rf /\n', 'job.jar'), close])
      expect(await screened(body, size)).toBe(
        'The upload is refused: a file part does not start as a jar (ZIP) file does',
      )
    },
  )

  it.each([
    ['a second file that is no jar', Buffer.concat([filePart(JAR), filePart('not a zip'), close])],
    ['a file shorter than a ZIP header', Buffer.concat([filePart('PK'), close])],
    [
      'a file part after a field',
      Buffer.concat([part('Content-Disposition: form-data; name="a"', 'x'), filePart('text'), close]),
    ],
    [
      'a file part whose delimiters and headers end in bare LFs',
      Buffer.concat([
        part('Content-Disposition: form-data; name="jarfile"; filename="x.jar"', 'not a zip', '\n'),
        close,
      ]),
    ],
    [
      'a filename in any letter case',
      Buffer.concat([
        part('CONTENT-DISPOSITION: form-data; name="jarfile"; FILENAME="x.jar"', 'nope'),
        close,
      ]),
    ],
  ])('refuses %s', async (_what, body) => {
    for (const size of SIZES) expect(await screened(body, size)).toMatch(/^The upload is refused/)
  })

  it('refuses a nested multipart part, whose files it could not check', async () => {
    const body = Buffer.concat([
      part(
        'Content-Disposition: form-data; name="files"\r\nContent-Type: multipart/mixed; boundary=inner',
        'x',
      ),
      close,
    ])
    expect(await screened(body, 7)).toBe('The upload is refused: a part is itself multipart')
  })

  it('refuses a body that ends before its file could be checked', async () => {
    const body = Buffer.from(
      `--${BOUNDARY}\r\nContent-Disposition: form-data; name="jarfile"; filename="x.jar"\r\n\r\nPK`,
    )
    expect(await screened(body, 5)).toBe(
      'The upload is refused: the upload ends before its file could be checked',
    )
  })

  it('refuses part headers past 16 KiB', async () => {
    const body = Buffer.concat([part(`X-Pad: ${'a'.repeat(17 * 1024)}`, 'x'), close])
    expect(await screened(body, 4096)).toBe('The upload is refused: a part has too many header bytes')
  })

  it('lets the bytes after the closing delimiter through unread', async () => {
    const body = Buffer.concat([
      filePart(JAR),
      close,
      Buffer.from('epilogue, not a part: filename="x"\r\n\r\nnope'),
    ])
    expect(await screened(body, 3)).toEqual(body)
  })
})

describe('uploadBoundary', () => {
  it.each([
    ['multipart/form-data; boundary=abc123', 'abc123'],
    ['Multipart/Form-Data; BOUNDARY="----x.y"', '----x.y'],
    ['multipart/form-data; charset=utf-8; boundary=b', 'b'],
  ])('reads %s', (contentType, boundary) => {
    expect(uploadBoundary(contentType)).toBe(boundary)
  })

  it.each([
    undefined,
    'application/java-archive',
    'multipart/mixed; boundary=abc',
    'multipart/form-data',
    'multipart/form-data; boundary=a; boundary=b',
    'multipart/form-data; boundary="a b"',
    'multipart/form-data; boundary=',
    `multipart/form-data; boundary=${'x'.repeat(71)}`,
  ])('refuses %s', (contentType) => {
    expect(() => uploadBoundary(contentType)).toThrow(/multipart\/form-data with one boundary/)
  })
})
