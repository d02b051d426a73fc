import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { FLINK_IT_DIR, type FlinkCluster } from './flink.js'

/**
 * The REST routes a real JobManager registers, from its own log. RestServerEndpoint logs every route at DEBUG
 * as "Register handler <handler>@<hash> under <METHOD>@<path>." (1.20 and 2.x alike, both the `/v1/...` and the
 * unversioned path of the default version), on the logger of its concrete class, DispatcherRestEndpoint in a
 * session cluster.
 */

export interface RegisteredRoute {
  readonly method: string
  /** As registered, e.g. `/v1/jobs/:jobid` or `/jobs/:jobid`. */
  readonly path: string
  /** The handler's class, e.g. `org.apache.flink.runtime.rest.handler.job.JobCancellationHandler`. */
  readonly handler: string
}

/** `files` for startFlinkCluster: flink-it's log4j.properties with the endpoint's logger at DEBUG. */
export function routeLoggingFiles(): Record<string, string> {
  const base = readFileSync(join(FLINK_IT_DIR, 'conf/log4j.properties'), 'utf8')
  return {
    'log4j.properties': `${base}
logger.restEndpoint.name = org.apache.flink.runtime.dispatcher.DispatcherRestEndpoint
logger.restEndpoint.level = DEBUG
`,
  }
}

const REGISTER = /Register handler (\S+?)@[0-9a-f]+ under ([A-Z]+)@(\S+)\.$/

export function registeredRoutes(cluster: FlinkCluster): RegisteredRoute[] {
  const log = readFileSync(join(cluster.workDir, 'log', 'flink-jobmanager.log'), 'utf8')
  return log.split('\n').flatMap((line) => {
    const found = REGISTER.exec(line)
    return found === null ? [] : [{ handler: found[1]!, method: found[2]!, path: found[3]! }]
  })
}
