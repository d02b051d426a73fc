import { setTimeout as sleep } from 'node:timers/promises'
import type { Pool } from 'undici'
import { FlinkGuardError } from '../errors.js'
import { readBounded } from '../proxy/read-bounded.js'
import { upstreamError } from '../proxy/upstream-errors.js'

/** A job as Flink's `/jobs/overview` lists it. */
export interface CatalogJob {
  readonly id: string
  readonly name: string
  readonly state: string
}

export type JobList = ReadonlyMap<string, CatalogJob>

/**
 * The names of a cluster's jobs, read from Flink's own `/jobs/overview` (every job the dispatcher knows,
 * finished ones too, until jobstore expiry), one list per pool shared by its readers, each saying how old a
 * list it accepts (job scope its `cacheMs`, the audit trail its own). A job id that is not in the list is
 * looked up again, so a job submitted a moment ago is found; never sooner than `MIN_REFETCH_MS` after the
 * last fetch, so ids made up by a scanner cost Flink a bounded rate of calls. One fetch at a time. A failed
 * fetch is the answer for MIN_REFETCH_MS, then Flink is asked again: the request that needed it gets
 * Flink's error (503, 502, 504), never a guess.
 */
export interface JobCatalog {
  /** The list, fetched again when older than `maxAgeMs`. */
  jobs(maxAgeMs: number): Promise<JobList>
  /** The job of this id (lower-case hex) from a list at most `maxAgeMs` old, or null when Flink does not know it. */
  job(id: string, maxAgeMs: number): Promise<CatalogJob | null>
  /** A list whose fetch began after this call (none joined that began before it, no failure reused). */
  fresh(): Promise<JobList>
}

export const MIN_REFETCH_MS = 250
/** A Flink job id as Flink writes it (lower-case hex) or a client may (either case). */
export const JOB_ID = /^[0-9a-fA-F]{32}$/
/** A job list past this is not read (a dispatcher keeping tens of thousands of finished jobs): refused, not guessed. */
const MAX_LIST_BYTES = 32 * 1024 * 1024
const OVERVIEW_PATH = '/jobs/overview'

const catalogs = new WeakMap<Pool, JobCatalog>()

/** The catalog of the Flink behind `pool` (one per pool, so per cluster and per YARN application). */
export function catalogOf(pool: Pool): JobCatalog {
  let catalog = catalogs.get(pool)
  if (catalog === undefined) {
    catalog = createCatalog(() => fetchJobList(pool))
    catalogs.set(pool, catalog)
  }
  return catalog
}

export function createCatalog(fetchList: () => Promise<JobList>): JobCatalog {
  let list: JobList | null = null
  let fetchedAt = 0
  // A failed fetch is answered with its error for MIN_REFETCH_MS: a Flink that errors is not asked per request.
  let failure: { readonly at: number; readonly error: unknown } | null = null
  let inFlight: Promise<JobList> | null = null
  let inFlightSince = 0
  const refetch = (): Promise<JobList> => {
    if (failure !== null && Date.now() - failure.at < MIN_REFETCH_MS) return Promise.reject(failure.error)
    if (inFlight === null) inFlightSince = performance.now()
    inFlight ??= fetchList()
      .then(
        (fresh) => {
          list = fresh
          fetchedAt = Date.now()
          failure = null
          return fresh
        },
        (error: unknown) => {
          failure = { at: Date.now(), error }
          throw error
        },
      )
      .finally(() => {
        inFlight = null
      })
    return inFlight
  }
  const jobs = (maxAgeMs: number): Promise<JobList> =>
    list !== null && Date.now() - fetchedAt < maxAgeMs ? Promise.resolve(list) : refetch()
  return {
    jobs,
    async job(id, maxAgeMs) {
      const known = (await jobs(maxAgeMs)).get(id)
      if (known !== undefined) return known
      // Not known yet: fetched again, but no sooner than MIN_REFETCH_MS after the last fetch (waiting out the
      // rest), so a job submitted a moment ago is found and a scanner's ids cost Flink a bounded rate.
      const wait = fetchedAt + MIN_REFETCH_MS - Date.now()
      if (wait > 0) await sleep(wait)
      return (await refetch()).get(id) ?? null
    },
    async fresh() {
      const asked = performance.now()
      // A fetch under way that began before this call may not have seen what happened since: wait it out.
      while (inFlight !== null && inFlightSince < asked) await inFlight.catch(() => {})
      failure = null
      return refetch()
    },
  }
}

async function fetchJobList(pool: Pool): Promise<JobList> {
  let text: string
  try {
    const response = await pool.request({
      path: OVERVIEW_PATH,
      method: 'GET',
      headers: { accept: 'application/json' },
    })
    if (response.statusCode !== 200) {
      await response.body.dump()
      throw badList(`it answered ${response.statusCode}`)
    }
    const body = await readBounded(response.body, MAX_LIST_BYTES, () => badList('the list is too large'))
    text = body.toString('utf8')
  } catch (err) {
    throw upstreamError(err)
  }
  return parseJobList(text)
}

/** Flink's `/jobs/overview` answer as a map by id; anything else in its place is refused. */
export function parseJobList(text: string): JobList {
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch {
    throw badList('the answer is not JSON')
  }
  const entries = (body as { jobs?: unknown } | null)?.jobs
  if (!Array.isArray(entries)) throw badList('the answer has no jobs array')
  const list = new Map<string, CatalogJob>()
  for (const entry of entries) {
    const { jid, name, state } = (entry ?? {}) as Record<string, unknown>
    if (typeof jid !== 'string' || typeof name !== 'string' || typeof state !== 'string')
      throw badList('a job without jid, name or state')
    list.set(jid.toLowerCase(), { id: jid.toLowerCase(), name, state })
  }
  return list
}

const badList = (why: string) =>
  new FlinkGuardError('FG_ERR_UPSTREAM_BAD_RESPONSE', {
    message: `Flink's job list (${OVERVIEW_PATH}), which job scope reads for job names, cannot be used: ${why}`,
  })
