import { createHash, randomUUID } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { rm } from 'node:fs/promises'
import type { IncomingMessage } from 'node:http'
import { basename, join } from 'node:path'
import { Transform } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { Busboy, type BusboyInstance } from '@fastify/busboy'
import type { RecordedUpload } from './record.js'

export type UploadOutcome =
  | { readonly ok: true; readonly upload: RecordedUpload; readonly storedName: string }
  | { readonly ok: false; readonly message: string }

/**
 * Flink's `POST /jars/upload`: multipart/form-data with exactly one file part whose name ends in `.jar`
 * (the field name is not checked). Each file part streams to disk as `<uuid>_<name>` while it is hashed,
 * so a 1 GiB jar needs no more memory than a small one. Messages are Flink's (JarUploadHandler).
 */
export async function receiveJarUpload(request: IncomingMessage, uploadDir: string): Promise<UploadOutcome> {
  const stored: Promise<RecordedUpload & { storedName: string }>[] = []
  const paths: string[] = []
  const parsed = new Promise<void>((resolve, reject) => {
    let parser: BusboyInstance
    try {
      parser = Busboy({ headers: request.headers as { 'content-type': string } })
    } catch (err) {
      reject(err)
      return
    }
    parser.on('file', (_field, stream, filename) => {
      // Only the last path element: a crafted name must not write outside uploadDir (CVE-2020-17518).
      const originalName = basename(filename.replaceAll('\\', '/'))
      const storedName = `${randomUUID()}_${originalName}`
      const serverPath = join(uploadDir, storedName)
      paths.push(serverPath)
      const hash = createHash('sha256')
      let bytes = 0
      const meter = new Transform({
        transform(chunk: Buffer, _encoding, callback) {
          hash.update(chunk)
          bytes += chunk.length
          callback(null, chunk)
        },
      })
      const written = pipeline(stream, meter, createWriteStream(serverPath)).then(() => ({
        serverPath,
        originalName,
        storedName,
        bytes,
        sha256: hash.digest('hex'),
      }))
      // A write can fail (disk full: EFBIG, ENOSPC) while the body still arrives. The parser would then wait
      // forever for the destroyed file stream to take more: the upload fails now, and the rest of the body is
      // read and dropped, so the answer reaches a client still sending. Handled here, too, because Node takes a
      // rejection that comes before the outcomes are awaited below for an unhandled one and exits.
      written.catch((err: unknown) => {
        request.unpipe(parser)
        request.resume()
        reject(err)
      })
      stored.push(written)
    })
    parser.on('finish', resolve)
    parser.on('error', reject)
    request.on('error', reject)
    request.pipe(parser)
  })
  // A body that breaks off (no closing boundary, a client gone) fails the parser and the file being
  // written alike: every file's outcome is awaited, so none is left as an unhandled rejection, and the
  // partial files are removed.
  const [parsing] = await Promise.allSettled([parsed])
  // Only now is every file part known: the parser has ended or failed.
  const writes = await Promise.allSettled(stored)
  const failed = [parsing!, ...writes].find((result) => result.status === 'rejected')
  if (failed !== undefined) {
    await Promise.all(paths.map((path) => rm(path, { force: true })))
    throw failed.reason
  }
  const files = writes.map(
    (write) => (write as PromiseFulfilledResult<RecordedUpload & { storedName: string }>).value,
  )
  const refuse = async (message: string): Promise<UploadOutcome> => {
    await Promise.all(files.map((file) => rm(file.serverPath, { force: true })))
    return { ok: false, message }
  }
  if (files.length !== 1) return refuse(`Exactly 1 file must be sent, received ${files.length}.`)
  const [file] = files as [RecordedUpload & { storedName: string }]
  if (!file.originalName.endsWith('.jar')) return refuse('Only Jar files are allowed.')
  const { storedName, ...upload } = file
  return { ok: true, upload, storedName }
}
