import { appendFileSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { describe, expect, it, vi } from 'vitest'
import { openFileOwners } from '../../src/job-owners/file-store.js'
import { bounded } from '../../src/job-owners/open.js'
import { submittedJobOf } from '../../src/job-owners/record-submitter.js'
import { createLogger } from '../../src/observability/logger.js'

const JOB = 'a'.repeat(32)
const OTHER = 'b'.repeat(32)

function memoryLogger() {
  const lines: Record<string, unknown>[] = []
  const sink = new Writable({
    write(chunk, _encoding, callback) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line))
      callback()
    },
  })
  return { logger: createLogger('info', sink), lines }
}
const fresh = () => join(mkdtempSync(join(tmpdir(), 'fg-owners-')), 'owners.jsonl')
const record = (cluster: string, job: string, subject: string) =>
  `${JSON.stringify({ cluster, job, subject, at: '2026-12-04T00:00:00.000Z' })}\n`

describe("the job a submission's answer names", () => {
  it.each([
    ['POST /jars/:jarid/run', { jobid: JOB.toUpperCase() }, JOB],
    ['POST /jobs', { jobUrl: `/jobs/${JOB}` }, JOB],
    ['POST /jars/:jarid/run-application', { applicationid: JOB }, JOB],
  ])('%s: read from its answer, in lower case', (action, body, expected) => {
    expect(submittedJobOf(action, body)).toBe(expected)
  })

  it.each([
    ['POST /jars/:jarid/run', { jobid: 'not-a-job-id' }],
    ['POST /jars/:jarid/run', { jobid: 42 }],
    ['POST /jars/:jarid/run', null],
    ['POST /jobs', { jobUrl: JOB }],
    ['POST /jobs', { jobUrl: `/jobs/${JOB}/extra` }],
    ['POST /jobs', { jobUrl: `/x/jobs/${JOB}` }],
    ['POST /jobs', { jobid: JOB }],
    // Another action that answers a job id starts no job of the caller's.
    ['PATCH /jobs/:jobid', { jobid: JOB }],
    ['POST /jobs/:jobid/savepoints', { 'request-id': JOB }],
  ])('%s answering %j names none', (action, body) => {
    expect(submittedJobOf(action, body)).toBeNull()
  })
})

describe('the job owners file', () => {
  it('keeps records across a reopen (a restart), per cluster, the last record of a job winning', async () => {
    const path = fresh()
    const { logger } = memoryLogger()
    const first = await openFileOwners(path, logger)
    await first.record('default', JOB, 'ana')
    await first.record('other', JOB, 'ben')
    await first.record('default', OTHER, 'ben')
    await first.record('default', OTHER, 'cy')
    await first.close()
    const again = await openFileOwners(path, logger)
    expect(await again.ownersOf('default', [JOB, OTHER, 'c'.repeat(32)])).toEqual(
      new Map([
        [JOB, 'ana'],
        [OTHER, 'cy'],
      ]),
    )
    expect(await again.ownersOf('other', [JOB])).toEqual(new Map([[JOB, 'ben']]))
    await again.close()
  })

  it("sees another process's record at once (workers, replicas on one disk)", async () => {
    const path = fresh()
    const { logger } = memoryLogger()
    const a = await openFileOwners(path, logger)
    const b = await openFileOwners(path, logger)
    expect(await b.ownersOf('default', [JOB])).toEqual(new Map())
    await a.record('default', JOB, 'ana')
    expect(await b.ownersOf('default', [JOB])).toEqual(new Map([[JOB, 'ana']]))
    await Promise.all([a.close(), b.close()])
  })

  it("reads another process's later record of a job it knows (a resubmitted id): the last record wins everywhere", async () => {
    const path = fresh()
    const { logger } = memoryLogger()
    const [a, b] = [await openFileOwners(path, logger), await openFileOwners(path, logger)]
    await a.record('default', JOB, 'ana')
    expect(await b.ownersOf('default', [JOB])).toEqual(new Map([[JOB, 'ana']]))
    await a.record('default', JOB, 'ben')
    expect(await b.ownersOf('default', [JOB])).toEqual(new Map([[JOB, 'ben']]))
    await Promise.all([a.close(), b.close()])
  })

  it('keeps a record written after a writer that died mid-line readable by everyone', async () => {
    const path = fresh()
    const { logger } = memoryLogger()
    const writer = await openFileOwners(path, logger)
    appendFileSync(path, record('default', OTHER, 'dead').slice(0, 30))
    await writer.record('default', JOB, 'ana')
    const reader = await openFileOwners(path, logger)
    expect(await reader.ownersOf('default', [JOB, OTHER])).toEqual(new Map([[JOB, 'ana']]))
    await Promise.all([writer.close(), reader.close()])
  })

  it('skips lines that are not records, and leaves a line still being written for later', async () => {
    const path = fresh()
    writeFileSync(path, `garbage\n{"cluster":"default"}\n${record('default', JOB, 'ana')}`)
    const { logger, lines } = memoryLogger()
    const owners = await openFileOwners(path, logger)
    expect(await owners.ownersOf('default', [JOB])).toEqual(new Map([[JOB, 'ana']]))
    expect(lines).toContainEqual(
      expect.objectContaining({ lines: 2, msg: expect.stringMatching(/not records/) }),
    )
    // Half a line: not read until its end arrives.
    const whole = record('default', OTHER, 'ben')
    appendFileSync(path, whole.slice(0, 20))
    expect(await owners.ownersOf('default', [OTHER])).toEqual(new Map())
    appendFileSync(path, whole.slice(20))
    expect(await owners.ownersOf('default', [OTHER])).toEqual(new Map([[OTHER, 'ben']]))
    await owners.close()
  })

  it('reads a replaced file again as the whole truth (an admin revoked a record), and writes to the new one', async () => {
    const path = fresh()
    const { logger, lines } = memoryLogger()
    const owners = await openFileOwners(path, logger)
    await owners.record('default', JOB, 'ana')
    writeFileSync(`${path}.new`, record('default', OTHER, 'ben'))
    renameSync(`${path}.new`, path)
    expect(await owners.ownersOf('default', [JOB, OTHER])).toEqual(new Map([[OTHER, 'ben']]))
    expect(lines).toContainEqual(expect.objectContaining({ msg: expect.stringMatching(/replaced/) }))
    await owners.record('default', 'c'.repeat(32), 'cy')
    expect(readFileSync(path, 'utf8')).toContain('"subject":"cy"')
    await owners.close()
  })

  it('writes a record into the file at its path, not a deleted one: created again', async () => {
    const path = fresh()
    const owners = await openFileOwners(path, memoryLogger().logger)
    await owners.record('default', JOB, 'ana')
    rmSync(path)
    await owners.record('default', OTHER, 'ben')
    expect(readFileSync(path, 'utf8')).toContain(`"job":"${OTHER}","subject":"ben"`)
    const again = await openFileOwners(path, memoryLogger().logger)
    expect(await again.ownersOf('default', [JOB, OTHER])).toEqual(new Map([[OTHER, 'ben']]))
    await Promise.all([owners.close(), again.close()])
  })

  it('refuses to open in a directory that does not exist, naming the path', async () => {
    const path = join(tmpdir(), 'fg-no-such-dir', 'owners.jsonl')
    await expect(openFileOwners(path, memoryLogger().logger)).rejects.toThrow(
      `jobOwners.file ${path} cannot be opened: ENOENT`,
    )
  })

  it('rejects a record it cannot write (disk full: /dev/full)', async () => {
    const owners = await openFileOwners('/dev/full', memoryLogger().logger)
    await expect(owners.record('default', JOB, 'ana')).rejects.toThrow(/ENOSPC/)
    // What was not written is not believed either.
    expect(await owners.ownersOf('default', [JOB])).toEqual(new Map())
    await owners.close()
  })
})

describe("the job owners' store, bounded", () => {
  it('fails an operation that does not answer in 5 s (a disk that hangs) instead of holding the request', async () => {
    vi.useFakeTimers()
    try {
      const hung = bounded(new Promise<never>(() => {}))
      const outcome = expect(hung).rejects.toThrow("the job owners' store did not answer within 5000 ms")
      await vi.advanceTimersByTimeAsync(5_000)
      await outcome
      await expect(bounded(Promise.resolve('answered'))).resolves.toBe('answered')
    } finally {
      vi.useRealTimers()
    }
  })
})
