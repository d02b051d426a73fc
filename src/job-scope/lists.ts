import { FlinkGuardError } from '../errors.js'
import { type CatalogJob, type JobCatalog, MIN_REFETCH_MS } from './catalog.js'
import { coveredIds, type OwnerLookup } from './owner-lookup.js'
import type { CallerScope, JobRef } from './scope.js'

/**
 * Flink's answers that list or count every job, cut down to the caller's. Each is rebuilt from what the
 * caller may see; an answer not of the shape Flink gives is refused rather than passed on unfiltered. The job
 * list they are judged by is at most MIN_REFETCH_MS old (not cacheMs), so counts follow a cancel at once.
 */
export const LIST_TEMPLATES = ['/jobs', '/jobs/overview', '/overview', '/applications/overview'] as const

export type ListTemplate = (typeof LIST_TEMPLATES)[number]

export function isListTemplate(template: string | undefined): template is ListTemplate {
  return (LIST_TEMPLATES as readonly (string | undefined)[]).includes(template)
}

/** Flink's ClusterOverview: a job counts as running until it reaches one of these (JobStatus.isGloballyTerminalState). */
const TERMINAL_COUNTS: Readonly<Record<string, string>> = {
  FINISHED: 'jobs-finished',
  CANCELED: 'jobs-cancelled',
  FAILED: 'jobs-failed',
}

export async function scopedList(
  template: ListTemplate,
  body: unknown,
  scope: CallerScope,
  catalog: JobCatalog,
  owners: OwnerLookup,
): Promise<unknown> {
  const record = asRecord(body, template)
  const visible = (jobs: readonly JobRef[]) => coveredIds(scope, jobs, 'view', owners)
  switch (template) {
    case '/jobs/overview': {
      // The answer names its jobs itself: judged by what Flink said just now, not by the cached list.
      const entries = arrayIn(record, 'jobs', template).map((job) => {
        const { jid, name } = asRecord(job, template)
        return {
          job,
          ref: typeof jid === 'string' && typeof name === 'string' ? { id: jid.toLowerCase(), name } : null,
        }
      })
      const shown = await visible(entries.flatMap(({ ref }) => (ref === null ? [] : [ref])))
      return {
        ...record,
        jobs: entries.filter(({ ref }) => ref !== null && shown.has(ref.id)).map(({ job }) => job),
      }
    }
    case '/jobs':
      return { ...record, jobs: await byId(record, 'jobs', template, catalog, visible) }
    case '/applications/overview':
      // A 2.x session cluster's application is one job of the same id (SingleJobApplication): it is the
      // caller's when that job is. An application that is not one of its jobs' ids is nobody's under a scope.
      return { ...record, applications: await byId(record, 'applications', template, catalog, visible) }
    case '/overview': {
      const known = [...(await catalog.jobs(MIN_REFETCH_MS)).values()]
      const shown = await visible(known)
      return { ...record, ...countsOf(known.filter((job) => shown.has(job.id))) }
    }
  }
}

/** The entries of `field` whose `id` is a job of the caller's, judged by the job list's names. */
async function byId(
  record: Record<string, unknown>,
  field: string,
  template: string,
  catalog: JobCatalog,
  visible: (jobs: readonly JobRef[]) => Promise<ReadonlySet<string>>,
): Promise<unknown[]> {
  const known = await catalog.jobs(MIN_REFETCH_MS)
  const entries = arrayIn(record, field, template).map((entry) => {
    const id = asRecord(entry, template).id
    return { entry, job: typeof id === 'string' ? known.get(id.toLowerCase()) : undefined }
  })
  const shown = await visible(entries.flatMap(({ job }) => (job === undefined ? [] : [job])))
  return entries.filter(({ job }) => job !== undefined && shown.has(job.id)).map(({ entry }) => entry)
}

function countsOf(jobs: readonly CatalogJob[]): Record<string, number> {
  const counts: Record<string, number> = {
    'jobs-running': 0,
    'jobs-finished': 0,
    'jobs-cancelled': 0,
    'jobs-failed': 0,
  }
  for (const job of jobs) counts[TERMINAL_COUNTS[job.state] ?? 'jobs-running']! += 1
  return counts
}

function asRecord(value: unknown, template: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw unexpected(template)
  return value as Record<string, unknown>
}

function arrayIn(record: Record<string, unknown>, field: string, template: string): unknown[] {
  const value = record[field]
  if (!Array.isArray(value)) throw unexpected(template)
  return value
}

const unexpected = (template: string) =>
  new FlinkGuardError('FG_ERR_UPSTREAM_BAD_RESPONSE', {
    message: `Flink's ${template} answer is not of a shape job scope can filter`,
  })
