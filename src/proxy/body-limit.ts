import { Transform, type TransformCallback } from 'node:stream'
import { FlinkGuardError } from '../errors.js'

/**
 * Counts a streamed request body and fails it once it passes `maxBytes`. Used for chunked bodies, whose
 * size is unknown up front; a declared Content-Length is checked before any byte is read.
 */
export class BodyLimit extends Transform {
  bytes = 0
  exceeded = false
  readonly error: FlinkGuardError

  /** Why the body was refused while it streamed, or null. */
  get refusal(): FlinkGuardError | null {
    return this.exceeded ? this.error : null
  }

  constructor(private readonly maxBytes: number) {
    super()
    this.error = bodyTooLarge(maxBytes)
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length
    if (this.bytes > this.maxBytes) {
      this.exceeded = true
      callback(this.error)
      return
    }
    callback(null, chunk)
  }
}

export function bodyTooLarge(maxBytes: number): FlinkGuardError {
  return new FlinkGuardError('FG_ERR_REQUEST_BODY_TOO_LARGE', {
    message: `The request body exceeds the limit of ${maxBytes} bytes (limits.maxBodyBytes)`,
  })
}
