import { createHash, randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { createWriteStream, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface MultipartFile {
  path: string
  boundary: string
  jarBytes: number
  jarSha256: string
}

const CHUNK_BYTES = 1024 * 1024

/**
 * Writes a multipart/form-data body with one `.jar` file part of `jarBytes` to disk, as `curl -T` uploads it
 * (with Content-Length and Expect: 100-continue), and returns the jar part's SHA-256.
 */
export async function writeMultipartJar(jarBytes: number, name = 'big-job.jar'): Promise<MultipartFile> {
  const dir = mkdtempSync(join(tmpdir(), 'fg-upload-'))
  const path = join(dir, 'body.multipart')
  const boundary = `----flinkguard${randomBytes(8).toString('hex')}`
  const out = createWriteStream(path)
  const hash = createHash('sha256')
  const write = async (data: Buffer | string) => {
    if (!out.write(data)) await once(out, 'drain')
  }
  await write(
    `--${boundary}\r\nContent-Disposition: form-data; name="jarfile"; filename="${name}"\r\n` +
      'Content-Type: application/java-archive\r\n\r\n',
  )
  const seed = randomBytes(CHUNK_BYTES)
  for (let written = 0; written < jarBytes; written += CHUNK_BYTES) {
    const chunk = Buffer.from(seed.subarray(0, Math.min(CHUNK_BYTES, jarBytes - written)))
    // A jar starts as a ZIP file does; every chunk differs after that, so a reordered or repeated one is caught.
    if (written === 0) chunk.write('PK\u0003\u0004', 0, 'latin1')
    chunk.writeUInt32BE(written / CHUNK_BYTES, 4)
    hash.update(chunk)
    await write(chunk)
  }
  await write(`\r\n--${boundary}--\r\n`)
  out.end()
  await once(out, 'finish')
  return { path, boundary, jarBytes, jarSha256: hash.digest('hex') }
}
