import type { CanonicalPath } from '../../authz/canonical-path.js'
import { FlinkGuardError } from '../../errors.js'
import type { YarnConfig } from '../config.js'
import type { Resolution } from '../upstream.js'

/** A job's own pages and JSON: `/jobs/<32 hex digits>` and below (Flink's JobID.toHexString). */
const JOB_PATH = /^\/jobs\/([0-9a-f]{32})(?:\/|$)/

/**
 * A finished application (FINISHED, FAILED, KILLED): its JobManager is gone, its jobs are archived to Flink's
 * HistoryServer (`jobmanager.archive.fs.dir`) if the cluster was set up so. A browser's page load is sent there
 * with 303 when `yarn.historyServerUrl` is set: to the job's page (`#/job/completed/<jobid>/overview`, the
 * HistoryServer dashboard's route) when the path names a job, else to its list of completed jobs
 * (`#/overview`), because the ResourceManager does not know which jobs an application ran. API clients (the
 * dashboard's XHRs, the CLI, curl) keep a 404 in Flink's error shape, which names the history server.
 */
export function finished(
  appId: string,
  canonical: CanonicalPath,
  navigation: boolean,
  yarn: Pick<YarnConfig, 'historyServerUrl'>,
): Resolution {
  const history = yarn.historyServerUrl?.replace(/\/+$/, '')
  if (history === undefined) throw new FlinkGuardError('FG_ERR_CLUSTER_FINISHED')
  if (!navigation) {
    throw new FlinkGuardError('FG_ERR_CLUSTER_FINISHED', {
      message: `The Flink application ${appId} has finished; its jobs are in the history server at ${history}/`,
    })
  }
  const job = JOB_PATH.exec(canonical.matchPath)?.[1]
  const route = job === undefined ? '#/overview' : `#/job/completed/${job}/overview`
  return { kind: 'redirect', status: 303, location: `${history}/${route}` }
}
