import { createHash, type Hash } from 'node:crypto'
import { Transform, type TransformCallback } from 'node:stream'
import { FlinkGuardError } from '../errors.js'

/** A jar is a ZIP file: it starts with a local file header. */
const ZIP_LOCAL_HEADER = Buffer.from([0x50, 0x4b, 0x03, 0x04])
/** A part's headers are a few hundred bytes; more is no upload a browser or Flink's CLI makes. */
const MAX_PART_HEADER_BYTES = 16 * 1024
/** RFC 2046 §5.1.1 boundary characters, without the space (which would need quoting rules Netty may read otherwise). */
const BOUNDARY = /^[0-9A-Za-z'()+_,\-./:=?]{1,70}$/
/**
 * A part's header line as RFC 9110 §5.1 writes a field: a token, the colon at once, no folding. Netty's
 * splitMultipartHeader trims the line and ends the name at whitespace or ":", so `Content-Disposition : ...`
 * or a leading space would name a header this screen could not see.
 */
const HEADER_LINE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+:[^\r\n]*$/

/** A charset parameter's value (Netty decodes the text fields with it; it never changes where parts split). */
const CHARSET = /^"?[A-Za-z0-9._:+-]{1,40}"?$/

/**
 * The boundary of a `POST /jars/upload` body, or the refusal: with `limits.uploads.jarFilesOnly`, the body must be
 * `multipart/form-data` with exactly one plain boundary and at most a charset besides, so the scanner and Flink's
 * Netty decoder split it alike. Nothing else is accepted: Netty's getMultipartDataBoundary takes the first
 * parameter whose name *starts with* "boundary" (`boundaryx=AAA; boundary=BBB` splits at AAA).
 */
export function uploadBoundary(contentType: string | undefined): string {
  const [type = '', ...params] = (contentType ?? '').split(';').map((part) => part.trim())
  const named = (name: string) =>
    params
      .filter((param) => param.toLowerCase().startsWith(`${name}=`))
      .map((param) => param.slice(name.length + 1))
  const boundaries = named('boundary').map((value) => value.replace(/^"(.*)"$/, '$1'))
  const charsets = named('charset')
  if (
    type.toLowerCase() !== 'multipart/form-data' ||
    boundaries.length !== 1 ||
    !BOUNDARY.test(boundaries[0]!) ||
    charsets.length > 1 ||
    !charsets.every((charset) => CHARSET.test(charset)) ||
    boundaries.length + charsets.length !== params.length
  ) {
    throw notAJar('the upload must be multipart/form-data with one boundary (and at most a charset)')
  }
  return boundaries[0]!
}

/**
 * Passes a multipart upload through while holding back each part until its headers are read and, for a file
 * part, its first four bytes: a file that does not start as a ZIP does, or a nested multipart part (whose files
 * could not be checked), fails the stream before a byte of that part reaches Flink. With `allowedSha256`, each
 * file is hashed as it passes and the delimiter that ends it is held back until its digest is found in the
 * list: Flink never sees a file part end that is not allowed. Everything else streams.
 */
export class JarUploadScreen extends Transform {
  refusal: FlinkGuardError | null = null
  private readonly delimiter: Buffer
  /** Bytes not yet passed on; it starts with the line feed the first delimiter lacks, never passed on. */
  private pending = Buffer.from('\n')
  private virtualPrefix = 1
  /** 1 when `pending` starts with the CR of a CRLF delimiter, held back with it. */
  private lead = 0
  private state: 'body' | 'part-start' | 'epilogue' = 'body'
  /** Whether the first delimiter was seen: the body must start with it. */
  private started = false

  /** The digest of the file part now streaming, when uploads are limited to allowedSha256. */
  private fileHash: Hash | null = null

  constructor(
    boundary: string,
    private readonly allowedSha256: ReadonlySet<string> | null = null,
  ) {
    super()
    // A line feed, not CRLF: a decoder that also splits on bare LFs finds no delimiter this scanner misses.
    this.delimiter = Buffer.from(`\n--${boundary}`)
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (this.state === 'epilogue') {
      callback(null, chunk)
      return
    }
    this.pending = Buffer.concat([this.pending, chunk])
    try {
      this.advance()
      callback()
    } catch (err) {
      this.refusal = err as FlinkGuardError
      callback(this.refusal)
    }
  }

  override _flush(callback: TransformCallback): void {
    // A body that ends inside a part's headers or before a file's first bytes is cut; Flink refuses the rest.
    if (this.state === 'part-start' || this.fileHash !== null) {
      this.refusal = notAJar('the upload ends before its file could be checked')
      callback(this.refusal)
      return
    }
    this.passOn(this.pending.length)
    callback()
  }

  private advance(): void {
    for (;;) {
      if (this.state === 'epilogue') {
        this.passOn(this.pending.length)
        return
      }
      if (this.state === 'body' && !this.started) {
        // Netty's findMultipartDelimiter skips whitespace and control bytes before the first delimiter, and this
        // scanner would pass them on as a preamble: the body must start with the delimiter itself.
        const seen = Math.min(this.pending.length, this.delimiter.length)
        if (!this.pending.subarray(0, seen).equals(this.delimiter.subarray(0, seen))) {
          throw notAJar(`the body must start with its first delimiter "--${this.delimiter.subarray(3)}"`)
        }
        if (seen < this.delimiter.length) return
        this.started = true
      }
      if (this.state === 'body') {
        const at = this.pending.indexOf(this.delimiter)
        if (at === -1) {
          // The tail could be the start of a delimiter split across chunks.
          this.passOn(this.withoutTrailingCR(Math.max(0, this.pending.length - this.delimiter.length + 1)))
          return
        }
        const upTo = this.withoutTrailingCR(at)
        this.lead = at - upTo
        this.passOn(upTo)
        this.checkDigest()
        this.state = 'part-start'
      }
      if (!this.checkPartStart()) return
    }
  }

  /** `pending` starts with a delimiter: false while more bytes are needed to judge the part that follows. */
  private checkPartStart(): boolean {
    const after = this.lead + this.delimiter.length
    if (this.pending.length < after + 2) return false
    if (this.pending.subarray(after, after + 2).toString('latin1') === '--') {
      this.state = 'epilogue'
      return true
    }
    // Nothing but the line break on a delimiter's line: no padding another decoder might read as a header.
    const breakLength = this.pending[after] === 0x0a ? 1 : this.pending[after + 1] === 0x0a ? 2 : 0
    if (breakLength === 0 || (breakLength === 2 && this.pending[after] !== 0x0d)) {
      throw notAJar('a delimiter is followed by more than a line break')
    }
    const headersStart = after + breakLength
    const contentStart = endOfHeaders(this.pending, headersStart)
    const headerBytes = (contentStart === -1 ? this.pending.length : contentStart) - after
    if (headerBytes > MAX_PART_HEADER_BYTES) throw notAJar('a part has too many header bytes')
    if (contentStart === -1) return false
    const headers = this.pending.subarray(headersStart, contentStart).toString('latin1').toLowerCase()
    const lines = headers.split('\n').map((line) => (line.endsWith('\r') ? line.slice(0, -1) : line))
    if (!lines.slice(0, -2).every((line) => HEADER_LINE.test(line))) {
      throw notAJar('a part has a header line that is not a plain "Name: value"')
    }
    // Any mention of multipart in a part's type: Netty's test for multipart/mixed reads values split at "," and ";".
    if (/^content-type:[^\n]*multipart/m.test(headers)) {
      throw notAJar('a part is itself multipart')
    }
    if (/^content-disposition:[^\r\n]*filename/m.test(headers)) {
      if (this.pending.length < contentStart + ZIP_LOCAL_HEADER.length) return false
      if (
        !this.pending.subarray(contentStart, contentStart + ZIP_LOCAL_HEADER.length).equals(ZIP_LOCAL_HEADER)
      ) {
        throw notAJar('a file part does not start as a jar (ZIP) file does')
      }
    }
    this.passOn(contentStart)
    if (this.allowedSha256 !== null && /^content-disposition:[^\r\n]*filename/m.test(headers)) {
      this.fileHash = createHash('sha256')
    }
    this.state = 'body'
    return true
  }

  /** At the delimiter that ends a file part (not yet passed on): its digest must be an allowed one. */
  private checkDigest(): void {
    if (this.fileHash === null) return
    const digest = this.fileHash.digest('hex')
    this.fileHash = null
    if (!this.allowedSha256!.has(digest)) {
      throw new FlinkGuardError('FG_ERR_UPLOAD_NOT_ALLOWED', {
        message: `The upload is refused: a jar's SHA-256 ${digest} is not in limits.uploads.allowedSha256`,
      })
    }
  }

  /**
   * `count`, less a CR it would end on: Netty's multipart decoder keeps a chunk's trailing CR as file content when
   * the LF and the delimiter come in the next chunk (measured: Flink stored the jar one CR longer), so a CRLF
   * delimiter is always passed on whole.
   */
  private withoutTrailingCR(count: number): number {
    return count > 0 && this.pending[count - 1] === 0x0d ? count - 1 : count
  }

  /** Passes on the first `count` bytes of `pending`, less the virtual line feed at the very start. */
  private passOn(count: number): void {
    if (count === 0) return
    const skip = Math.min(this.virtualPrefix, count)
    this.virtualPrefix -= skip
    if (count > skip) {
      const bytes = this.pending.subarray(skip, count)
      // In 'body' state with a file open, what passes is that file's content (headers and delimiters never are).
      if (this.state === 'body') this.fileHash?.update(bytes)
      this.push(bytes)
    }
    this.pending = this.pending.subarray(count)
  }
}

/**
 * Where a part's content starts: after the header lines from `from`, the first empty line ends the headers.
 * Lines end in LF with an optional CR, as lenient decoders read them. -1 while that line has not come.
 */
function endOfHeaders(bytes: Buffer, from: number): number {
  let lineStart = from
  for (;;) {
    const lineEnd = bytes.indexOf(0x0a, lineStart)
    if (lineEnd === -1) return -1
    const length = lineEnd - lineStart - (bytes[lineEnd - 1] === 0x0d ? 1 : 0)
    if (length <= 0) return lineEnd + 1
    lineStart = lineEnd + 1
  }
}

function notAJar(why: string): FlinkGuardError {
  return new FlinkGuardError('FG_ERR_UPLOAD_NOT_A_JAR', { message: `The upload is refused: ${why}` })
}
