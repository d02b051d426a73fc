import type { Dispatcher } from 'undici'
import { FlinkGuardError } from '../../errors.js'

const PROOF_TIMEOUT_MS = 3_000
const CLUSTER_ID_KEY = 'high-availability.cluster-id'

/**
 * A new address is used only once the Flink behind it proves to be the application: on YARN, Flink's
 * YarnClusterDescriptor sets `high-availability.cluster-id` to the application id, and `GET
 * /jobmanager/config` reports it. Another application's Flink (or anything else listening on a recycled
 * NodeManager port) does not pass.
 */
export async function proveIdentity(dispatcher: Dispatcher, appId: string): Promise<void> {
  let entries: unknown
  try {
    const response = await dispatcher.request({
      path: '/jobmanager/config',
      method: 'GET',
      headersTimeout: PROOF_TIMEOUT_MS,
      bodyTimeout: PROOF_TIMEOUT_MS,
    })
    if (response.statusCode !== 200) {
      await response.body.dump()
      throw new Error(`GET /jobmanager/config answered ${response.statusCode}`)
    }
    entries = await response.body.json()
  } catch (err) {
    // Not answering yet (the AM registers before its REST endpoint serves): starting, retried by clients.
    throw new FlinkGuardError('FG_ERR_CLUSTER_STARTING', {
      message: `The Flink REST endpoint of ${appId} is not answering yet; retry shortly`,
      cause: err,
    })
  }
  const clusterId = Array.isArray(entries)
    ? (entries as { key?: unknown; value?: unknown }[]).find((entry) => entry?.key === CLUSTER_ID_KEY)?.value
    : undefined
  if (clusterId !== appId) {
    throw new FlinkGuardError('FG_ERR_CLUSTER_IDENTITY', {
      message: `The Flink REST endpoint registered for ${appId} reports ${CLUSTER_ID_KEY} ${JSON.stringify(clusterId ?? null)}`,
    })
  }
}
