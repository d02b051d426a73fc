import type { Dispatcher } from 'undici'

/** Readiness asks Flink the cheapest question the dashboard itself asks first. */
const READINESS_PATH = '/config'
export const READINESS_TIMEOUT_MS = 2_000

export interface CheckResult {
  readonly ok: boolean
  readonly reason?: string
}

/** The upstream is ready when `GET /config` answers 200 within the timeout. */
export async function checkUpstream(dispatcher: Dispatcher): Promise<CheckResult> {
  try {
    const response = await dispatcher.request({
      path: READINESS_PATH,
      method: 'GET',
      headersTimeout: READINESS_TIMEOUT_MS,
      bodyTimeout: READINESS_TIMEOUT_MS,
      signal: AbortSignal.timeout(READINESS_TIMEOUT_MS),
    })
    await response.body.dump()
    return response.statusCode === 200
      ? { ok: true }
      : { ok: false, reason: `GET ${READINESS_PATH} answered ${response.statusCode}` }
  } catch (err) {
    const { code, message } = err as { code?: string; message?: string }
    return { ok: false, reason: `GET ${READINESS_PATH} failed: ${code ?? 'error'} ${message ?? ''}`.trim() }
  }
}
