import type { IncomingHttpHeaders } from 'node:http'

/** What reached the stand-in, so tests can assert what got through the proxy to "Flink". */
export interface RecordedRequest {
  readonly method: string
  /** The raw request target, byte-exact as received. */
  readonly url: string
  readonly headers: IncomingHttpHeaders
  bodyBytes: number
  bodySha256: string
  /** The client went away before the response was finished. */
  aborted: boolean
}

export interface RecordedUpload {
  readonly serverPath: string
  readonly originalName: string
  readonly bytes: number
  readonly sha256: string
}

/** Requests kept for inspection; older ones are dropped (the count keeps counting). */
const MAX_RECORDED_REQUESTS = 1_000

export class StandinRecord {
  count = 0
  requests: RecordedRequest[] = []
  uploads: RecordedUpload[] = []

  get last(): RecordedRequest | undefined {
    return this.requests[this.requests.length - 1]
  }

  add(request: RecordedRequest): void {
    this.count++
    this.requests.push(request)
    if (this.requests.length > MAX_RECORDED_REQUESTS) this.requests.shift()
  }

  reset(): void {
    this.count = 0
    this.requests = []
    this.uploads = []
  }
}
