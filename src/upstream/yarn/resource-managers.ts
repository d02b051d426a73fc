import { request } from 'undici'
import { FlinkGuardError } from '../../errors.js'

/** One RM question may not hold a request longer than this (then the next RM, then 503). */
const RM_TIMEOUT_MS = 3_000
/** Bodies of RM answers are small JSON; anything larger is not an RM talking. */
const MAX_RM_BODY_BYTES = 1024 * 1024

/** The fields of the RM's `GET /ws/v1/cluster/apps/{appid}` answer (`{"app": {...}}`) that routing reads. */
export interface YarnApplication {
  readonly id: string
  readonly user: string
  readonly queue: string
  readonly state: string
  readonly applicationType: string
  /** `host:restPort` for Flink; absent once the application ends, blank without view access. */
  readonly amRPCAddress?: string
}

/**
 * The ResourceManagers, HA included: the last one that answered is asked first; a standby answers 307 to
 * the active one, which is followed only when it names one of the configured RMs (an RM is not trusted to
 * send the gateway anywhere else); an RM that does not answer is skipped.
 */
export class ResourceManagers {
  private active = 0

  constructor(
    private readonly urls: readonly string[],
    private readonly user: string | undefined,
  ) {}

  /** The application, or null when the RM does not know it (404). */
  async application(appId: string): Promise<YarnApplication | null> {
    const answer = await this.ask(`/ws/v1/cluster/apps/${appId}`)
    if (answer.status === 404) return null
    const app = (answer.body as { app?: Partial<YarnApplication> } | null)?.app
    if (answer.status !== 200 || typeof app !== 'object' || app === null || app.id !== appId) {
      throw new FlinkGuardError('FG_ERR_CLUSTER_DISCOVERY', {
        message: `The ResourceManager's answer about ${appId} is not an application (status ${answer.status})`,
      })
    }
    return {
      id: app.id,
      user: String(app.user ?? ''),
      queue: String(app.queue ?? ''),
      state: String(app.state ?? ''),
      applicationType: String(app.applicationType ?? ''),
      ...(typeof app.amRPCAddress === 'string' ? { amRPCAddress: app.amRPCAddress } : {}),
    }
  }

  /** Whether any RM reports itself active (`/isActive`: 200 active, 405 standby). */
  async anyActive(): Promise<boolean> {
    for (const url of this.urls) {
      try {
        const response = await request(`${url}/isActive`, {
          headersTimeout: RM_TIMEOUT_MS,
          bodyTimeout: RM_TIMEOUT_MS,
        })
        await response.body.dump()
        if (response.statusCode === 200) return true
      } catch {
        // Not answering: ask the next.
      }
    }
    return false
  }

  private async ask(path: string): Promise<{ status: number; body: unknown }> {
    const query = this.user === undefined ? '' : `?user.name=${encodeURIComponent(this.user)}`
    const failures: string[] = []
    for (let attempt = 0; attempt < this.urls.length; attempt++) {
      const index = (this.active + attempt) % this.urls.length
      try {
        let answer = await this.get(`${this.urls[index]}${path}${query}`)
        if (answer.status === 307) {
          const target = this.configuredIndex(answer.location)
          if (target === null) {
            failures.push(`${this.urls[index]} redirected outside yarn.resourceManagers`)
            continue
          }
          answer = await this.get(`${this.urls[target]}${path}${query}`)
          if (answer.status === 307) {
            failures.push(`${this.urls[target]} redirected again`)
            continue
          }
          this.active = target
        } else {
          this.active = index
        }
        if (answer.status >= 500) {
          failures.push(`${this.urls[index]} answered ${answer.status}`)
          continue
        }
        return answer
      } catch (err) {
        failures.push(`${this.urls[index]}: ${(err as { code?: string }).code ?? (err as Error).message}`)
      }
    }
    throw new FlinkGuardError('FG_ERR_CLUSTER_DISCOVERY', {
      message: `No ResourceManager answered: ${failures.join('; ')}`,
    })
  }

  private configuredIndex(location: string | undefined): number | null {
    if (location === undefined) return null
    let origin: string
    try {
      origin = new URL(location).origin
    } catch {
      return null
    }
    const index = this.urls.findIndex((url) => new URL(url).origin === origin)
    return index === -1 ? null : index
  }

  private async get(url: string): Promise<{ status: number; body: unknown; location?: string }> {
    const response = await request(url, {
      headers: { accept: 'application/json' },
      headersTimeout: RM_TIMEOUT_MS,
      bodyTimeout: RM_TIMEOUT_MS,
    })
    const location = response.headers.location
    if (response.statusCode === 307 || response.statusCode === 404 || response.statusCode >= 500) {
      await response.body.dump()
      return {
        status: response.statusCode,
        body: null,
        ...(typeof location === 'string' ? { location } : {}),
      }
    }
    const text = await readLimited(response.body)
    let body: unknown = null
    try {
      body = JSON.parse(text)
    } catch {
      body = null
    }
    return { status: response.statusCode, body }
  }
}

async function readLimited(body: AsyncIterable<Buffer>): Promise<string> {
  const chunks: Buffer[] = []
  let bytes = 0
  for await (const chunk of body) {
    bytes += chunk.length
    if (bytes > MAX_RM_BODY_BYTES) throw new Error('ResourceManager answer too large')
    chunks.push(chunk)
  }
  return Buffer.concat(chunks).toString('utf8')
}
