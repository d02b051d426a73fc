import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { createReadStream, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { hashSync } from '@node-rs/bcrypt'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually } from './support/eventually.js'
import { freePort } from './support/free-port.js'
import { writeMultipartJar } from './support/multipart-file.js'
import { startProxy, type TestProxy } from './support/proxy.js'

/**
 * Faults survived. Flink's with a real process: the stand-in runs as `flink-guard standin` in a child
 * process, which is killed, stopped (SIGSTOP) and restarted on the same port while the proxy keeps
 * running. A credential file's: replaced on disk under the running proxy.
 */

const MAIN = join(import.meta.dirname, '../../dist/main.js')
let port: number
let flink: ChildProcess | null = null
let proxy: TestProxy

/** `flink-guard standin` on `standinPort` in a child process (behind `prefix`, e.g. prlimit), once it answers. */
async function spawnStandin(standinPort: number, prefix: string[] = []): Promise<ChildProcess> {
  const command = [...prefix, process.execPath, MAIN, 'standin', '--port', String(standinPort)]
  const child = spawn(command[0]!, command.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] })
  await eventually(async () => {
    try {
      await (await request(`http://127.0.0.1:${standinPort}/overview`)).body.dump()
      return true
    } catch {
      return false
    }
  }, 10_000)
  return child
}

async function startFlink(): Promise<void> {
  flink = await spawnStandin(port)
}

async function stopFlink(signal: NodeJS.Signals): Promise<void> {
  const child = flink!
  child.kill(signal)
  if (signal === 'SIGKILL') await once(child, 'exit')
}

async function get(path = '/overview') {
  const response = await request(`${proxy.proxyUrl}${path}`)
  await response.body.dump()
  return { status: response.statusCode, code: response.headers['x-flink-guard-error'] }
}

async function readiness(): Promise<number> {
  const response = await request(`${proxy.adminUrl}/readyz`)
  await response.body.dump()
  return response.statusCode
}

const BOUNDARY = '----flinkguardslowupload'
const CHUNK = Buffer.alloc(16 * 1024, 'j')

/** A jar upload whose body takes `chunks` × `gapMs` to arrive, as from a slow link. */
async function* slowMultipart(chunks: number, gapMs: number): AsyncGenerator<Buffer> {
  yield Buffer.from(
    `--${BOUNDARY}\r\nContent-Disposition: form-data; name="jarfile"; filename="slow.jar"\r\n` +
      // A jar starts as a ZIP file does (limits.uploads.jarFilesOnly).
      'Content-Type: application/java-archive\r\n\r\nPK\u0003\u0004',
  )
  for (let i = 0; i < chunks; i += 1) {
    await new Promise((resolve) => setTimeout(resolve, gapMs))
    yield CHUNK
  }
  yield Buffer.from(`\r\n--${BOUNDARY}--\r\n`)
}

function upload(body: AsyncIterable<Buffer>) {
  return request(`${proxy.proxyUrl}/jars/upload`, {
    method: 'POST',
    headers: { 'content-type': `multipart/form-data; boundary=${BOUNDARY}` },
    body: Readable.from(body),
  })
}

beforeAll(async () => {
  port = await freePort()
  await startFlink()
  proxy = await startProxy(`http://127.0.0.1:${port}`, { upstream: { timeouts: { responseMs: 1_000 } } })
})
afterAll(async () => {
  flink?.kill('SIGKILL')
  await proxy.close(1_000)
})

describe('Flink killed and restarted on the same port', () => {
  it('answers 503 (which Flink clients retry) while it is down and recovers within 1 s of its return', async () => {
    expect((await get()).status).toBe(200)
    await stopFlink('SIGKILL')
    expect(await get()).toEqual({ status: 503, code: 'FG_ERR_UPSTREAM_UNAVAILABLE' })
    await startFlink()
    const back = Date.now()
    await eventually(async () => (await get()).status === 200, 1_000)
    expect(Date.now() - back).toBeLessThan(1_000)
  })

  it('flips /readyz to 503 while Flink is down and back to 200 after its restart', async () => {
    expect(await readiness()).toBe(200)
    await stopFlink('SIGKILL')
    expect(await readiness()).toBe(503)
    await startFlink()
    await eventually(async () => (await readiness()) === 200, 2_000)
  })
})

describe('a slow upload (body arriving for longer than upstream.timeouts.responseMs)', () => {
  it('is not cut: responseMs counts from the end of the body, the jar arrives whole', async () => {
    const started = Date.now()
    const response = await upload(slowMultipart(12, 200))
    const body = (await response.body.json()) as { status?: string }
    expect(Date.now() - started).toBeGreaterThan(2_000)
    expect(response.statusCode).toBe(200)
    expect(body.status).toBe('success')
  })

  it('but is answered 504 at responseMs when Flink stops (SIGSTOP) reading it', async () => {
    const response = upload(slowMultipart(4_000, 1))
    await new Promise((resolve) => setTimeout(resolve, 300))
    await stopFlink('SIGSTOP')
    try {
      const stopped = Date.now()
      const answered = await response
      await answered.body.dump()
      expect(answered.statusCode).toBe(504)
      expect(answered.headers['x-flink-guard-error']).toBe('FG_ERR_UPSTREAM_TIMEOUT')
      expect(Date.now() - stopped).toBeLessThan(10_000)
    } finally {
      flink!.kill('SIGCONT')
    }
    await eventually(async () => (await get()).status === 200, 3_000)
  })
})

describe('Flink stopped (SIGSTOP)', () => {
  it('answers 504 at upstream.timeouts.responseMs, and serves again once it continues', async () => {
    expect((await get()).status).toBe(200)
    await stopFlink('SIGSTOP')
    try {
      const started = Date.now()
      expect(await get()).toEqual({ status: 504, code: 'FG_ERR_UPSTREAM_TIMEOUT' })
      expect(Date.now() - started).toBeGreaterThanOrEqual(900)
      expect(Date.now() - started).toBeLessThan(5_000)
    } finally {
      flink!.kill('SIGCONT')
    }
    await eventually(async () => (await get()).status === 200, 3_000)
  })
})

describe('the disk filling up while Flink stores an upload', () => {
  // A file-size limit (RLIMIT_FSIZE, set with util-linux's prlimit on the stand-in's process) makes the write
  // fail with EFBIG once the file passes it, as a quota or a full disk fails a write (ENOSPC): the stand-in, like
  // Flink's FileUploadHandler, answers 500 "File upload failed." mid-body. Needs no root and no mount.
  it('passes Flink error through in its shape, and the proxy stays healthy', async () => {
    const fullPort = await freePort()
    const full = await spawnStandin(fullPort, ['prlimit', `--fsize=${1024 * 1024}`])
    const guarded = await startProxy(`http://127.0.0.1:${fullPort}`)
    try {
      const jar = await writeMultipartJar(8 * 1024 * 1024)
      const response = await request(`${guarded.proxyUrl}/jars/upload`, {
        method: 'POST',
        headers: {
          'content-type': `multipart/form-data; boundary=${jar.boundary}`,
          'content-length': String(statSync(jar.path).size),
        },
        body: createReadStream(jar.path),
      })
      expect(response.statusCode).toBe(500)
      expect(await response.body.json()).toEqual({ errors: ['File upload failed.'] })

      const ready = await request(`${guarded.adminUrl}/readyz`)
      await ready.body.dump()
      expect(ready.statusCode).toBe(200)
      const small = await writeMultipartJar(64 * 1024)
      const stored = await request(`${guarded.proxyUrl}/jars/upload`, {
        method: 'POST',
        headers: { 'content-type': `multipart/form-data; boundary=${small.boundary}` },
        body: createReadStream(small.path),
      })
      expect(stored.statusCode).toBe(200)
      expect(((await stored.body.json()) as { status: string }).status).toBe('success')
    } finally {
      full.kill('SIGKILL')
      await guarded.close(1_000)
    }
  })
})

describe('the htpasswd file replaced by garbage, truncated or deleted', () => {
  it('keeps the last good version in use, logs and counts each failure', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fg-faults-'))
    const file = join(dir, 'users.htpasswd')
    const good = `alice:${hashSync('wonderland', 4).replace(/^\$2b\$/, '$2y$')}\n`
    writeFileSync(file, good)
    const guarded = await startProxy(`http://127.0.0.1:${port}`, { auth: { basic: { htpasswd: file } } })
    try {
      const login = async () => {
        const response = await request(`${guarded.proxyUrl}/overview`, {
          headers: { authorization: `Basic ${Buffer.from('alice:wonderland').toString('base64')}` },
        })
        await response.body.dump()
        return response.statusCode
      }
      const failures = async () => {
        const scrape = await (await request(`${guarded.adminUrl}/metrics`)).body.text()
        return Number(
          /flink_guard_reloads_total\{what="htpasswd",result="failure"\} (\d+)/.exec(scrape)?.[1] ?? 0,
        )
      }
      expect(await login()).toBe(200)
      const faults: [string, () => void][] = [
        ['garbage', () => writeFileSync(file, Buffer.from([0x00, 0xff, 0x13, 0x37, 0x0a]))],
        ['truncated mid-hash', () => writeFileSync(file, good.slice(0, 20))],
        ['deleted', () => rmSync(file)],
      ]
      for (const [index, [_name, fault]] of faults.entries()) {
        fault()
        await eventually(async () => (await failures()) === index + 1, 5_000)
        expect(await login()).toBe(200)
      }
      expect(
        guarded.logs.filter(
          (line) => line.msg === 'htpasswd file refused; the previous version stays in use',
        ),
      ).toHaveLength(3)
      const ready = await request(`${guarded.adminUrl}/readyz`)
      await ready.body.dump()
      expect(ready.statusCode).toBe(200)
    } finally {
      await guarded.close(1_000)
    }
  })
})
