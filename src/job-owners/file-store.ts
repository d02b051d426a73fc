import type { Stats } from 'node:fs'
import { constants } from 'node:fs'
import { type FileHandle, open, stat } from 'node:fs/promises'
import type { Logger } from '../observability/logger.js'
import { type JobOwners, type OwnerRecord, parseOwnerRecord } from './job-owners.js'

/** A tail read reads at most this much at a time (records are ~150 bytes each). */
const READ_CHUNK_BYTES = 1024 * 1024

/**
 * The submitters in one append-only file of JSON lines, the last line for a job winning. Every process that
 * opens it (the workers of a group on one host) appends its own records with O_APPEND, one write and a
 * datasync each, and before each lookup reads what the others appended since it last read: a record is on
 * disk before its submitter learns the job's id. (Appends are not atomic on NFS: replicas share Redis.)
 */
export async function openFileOwners(path: string, logger: Logger): Promise<JobOwners> {
  const openAtPath = () => open(path, constants.O_RDWR | constants.O_APPEND | constants.O_CREAT, 0o600)
  let handle: FileHandle
  try {
    handle = await openAtPath()
  } catch (err) {
    throw new Error(`jobOwners.file ${path} cannot be opened: ${(err as Error).message}`, { cause: err })
  }
  const owners = new Map<string, string>()
  const key = (cluster: string, job: string) => `${cluster}\n${job}`
  let readUpTo = 0
  let inode = (await handle.stat()).ino

  const reopen = async (why: string) => {
    logger.warn({ path }, `jobOwners.file ${why}: reading it again (it holds every record)`)
    const next = await openAtPath()
    await handle.close()
    handle = next
    inode = (await handle.stat()).ino
    owners.clear()
    readUpTo = 0
  }
  /** The handle is the file at `path` again: one deleted is created anew (empty: nobody owns anything). */
  async function followPath(): Promise<number> {
    let now: Stats
    try {
      now = await stat(path)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
      await reopen('was deleted')
      return 0
    }
    if (now.ino !== inode) {
      await reopen('was replaced')
      return (await handle.stat()).size
    }
    if (now.size < readUpTo) {
      logger.warn({ path }, 'jobOwners.file shrank: reading it again (it holds every record)')
      owners.clear()
      readUpTo = 0
    }
    return now.size
  }

  /** Reads what was appended since the last read; a file that shrank or was replaced is read again whole. */
  async function readTail(): Promise<void> {
    const size = await followPath()
    let bad = 0
    let pending = Buffer.alloc(0)
    while (readUpTo + pending.length < size) {
      const chunk = Buffer.alloc(Math.min(READ_CHUNK_BYTES, size - readUpTo - pending.length))
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, readUpTo + pending.length)
      if (bytesRead === 0) break
      pending = Buffer.concat([pending, chunk.subarray(0, bytesRead)])
      // Only whole lines: a line another process is still writing is read next time.
      const end = pending.lastIndexOf(0x0a)
      if (end === -1) continue
      for (const line of pending.subarray(0, end).toString('utf8').split('\n')) {
        if (line === '') continue
        const record = parseOwnerRecord(line)
        if (record === null) bad++
        else owners.set(key(record.cluster, record.job), record.subject)
      }
      readUpTo += end + 1
      pending = pending.subarray(end + 1)
    }
    if (bad > 0) logger.warn({ path, lines: bad }, 'jobOwners.file has lines that are not records: skipped')
  }
  // One file operation at a time: a tail read may swap the handle a record would be writing to.
  let queue: Promise<unknown> = Promise.resolve()
  const serially = <T>(work: () => Promise<T>): Promise<T> => {
    const next = queue.then(work, work)
    queue = next.catch(() => {})
    return next
  }
  await readTail()

  return {
    record: (cluster, job, subject) =>
      serially(async () => {
        // Never into a file no longer at `path` (deleted, replaced): its records would be lost at a restart.
        await followPath()
        const record: OwnerRecord = { cluster, job, subject, at: new Date().toISOString() }
        // A line of its own even after a writer that died mid-line: the leading newline ends that one.
        const line = Buffer.from(`\n${JSON.stringify(record)}\n`)
        const { bytesWritten } = await handle.write(line)
        if (bytesWritten !== line.length)
          throw new Error(`jobOwners.file ${path}: ${bytesWritten} of ${line.length} bytes written`)
        await handle.datasync()
        owners.set(key(cluster, job), subject)
      }),
    // Read up to the end on every lookup (one stat when nothing was appended): another process's later
    // record of a job this one knows wins here too.
    ownersOf: (cluster, jobs) =>
      serially(async () => {
        await readTail()
        const found = new Map<string, string>()
        for (const job of jobs) {
          const subject = owners.get(key(cluster, job))
          if (subject !== undefined) found.set(job, subject)
        }
        return found
      }),
    close: () => serially(() => handle.close()),
  }
}
