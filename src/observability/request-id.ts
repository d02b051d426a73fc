import { randomUUID } from 'node:crypto'
import type { IncomingMessage } from 'node:http'

/** A client's X-Request-Id is kept only when it is short and plain: it lands in logs and in Flink's request. */
const ACCEPTABLE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/

export function requestIdOf(raw: IncomingMessage): string {
  const offered = raw.headers['x-request-id']
  return typeof offered === 'string' && ACCEPTABLE_REQUEST_ID.test(offered) ? offered : randomUUID()
}
