import { type Dispatcher, request } from 'undici'

interface StoredCookie {
  readonly value: string
  readonly path: string
}

export interface BrowserResponse {
  readonly url: string
  readonly status: number
  readonly headers: Record<string, string | string[] | undefined>
  readonly body: string
  /** The Set-Cookie lines of this response, as sent. */
  readonly setCookies: string[]
}

/** Request kinds as a browser labels them with Fetch Metadata. */
export type FetchKind = 'navigate' | 'xhr'

/**
 * Just enough of a browser for the OIDC flow over real sockets: a cookie jar (host-scoped like browsers',
 * Path and Max-Age honoured), Fetch Metadata and Accept headers per request kind, and redirects followed by
 * hand so every hop can be inspected. TLS is verified with the dispatcher's CA.
 */
export class BrowserClient {
  readonly #jar = new Map<string, Map<string, StoredCookie>>()

  constructor(private readonly dispatcher: Dispatcher) {}

  /** One request, no redirects followed. */
  async send(
    url: string,
    options: {
      method?: string
      kind?: FetchKind
      site?: 'same-origin' | 'same-site' | 'cross-site' | 'none'
      headers?: Record<string, string>
      form?: Record<string, string>
    } = {},
  ): Promise<BrowserResponse> {
    const kind = options.kind ?? 'navigate'
    const headers: Record<string, string> = {
      accept:
        kind === 'navigate'
          ? 'text/html,application/xhtml+xml,*/*;q=0.8'
          : 'application/json, text/plain, */*',
      'sec-fetch-mode': kind === 'navigate' ? 'navigate' : 'cors',
      'sec-fetch-site': options.site ?? (kind === 'navigate' ? 'none' : 'same-origin'),
      ...options.headers,
    }
    const cookie = this.cookieHeader(url)
    if (cookie !== '') headers.cookie = cookie
    let body: string | undefined
    if (options.form !== undefined) {
      body = new URLSearchParams(options.form).toString()
      headers['content-type'] = 'application/x-www-form-urlencoded'
    }
    const response = await request(url, {
      method: (options.method ?? (body === undefined ? 'GET' : 'POST')) as 'GET',
      headers,
      body,
      dispatcher: this.dispatcher,
    })
    const raw = response.headers['set-cookie']
    const setCookies = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw]
    this.store(url, setCookies)
    return {
      url,
      status: response.statusCode,
      headers: response.headers,
      body: await response.body.text(),
      setCookies,
    }
  }

  /**
   * Follows 3xx from `url` as a top-level navigation; every hop, the last one last. With `until`, a redirect
   * to that origin is not followed (the last hop is the redirect), so a test can inspect or replay it.
   */
  async navigate(
    url: string,
    first: Parameters<BrowserClient['send']>[1] = {},
    until?: string,
  ): Promise<BrowserResponse[]> {
    const hops = [await this.send(url, first)]
    for (let i = 0; i < 20; i++) {
      const last = hops[hops.length - 1]!
      const location = last.headers.location
      if (last.status < 300 || last.status > 399 || typeof location !== 'string') return hops
      if (until !== undefined && new URL(location, last.url).origin === until) return hops
      hops.push(await this.send(new URL(location, last.url).href, { site: 'cross-site' }))
    }
    throw new Error('too many redirects')
  }

  /** The Cookie header a browser would send to `url`. */
  cookieHeader(url: string): string {
    const { host, pathname } = new URL(url)
    const cookies = this.#jar.get(hostOnly(host)) ?? new Map()
    return [...cookies.entries()]
      .filter(
        ([, cookie]) =>
          pathname === cookie.path ||
          pathname.startsWith(cookie.path.endsWith('/') ? cookie.path : `${cookie.path}/`),
      )
      .map(([name, cookie]) => `${name}=${cookie.value}`)
      .join('; ')
  }

  /** The jar's cookies for the host of `url` (tests copy, alter and drop them). */
  cookies(url: string): Map<string, StoredCookie> {
    const host = hostOnly(new URL(url).host)
    let cookies = this.#jar.get(host)
    if (cookies === undefined) {
      cookies = new Map()
      this.#jar.set(host, cookies)
    }
    return cookies
  }

  private store(url: string, lines: readonly string[]): void {
    const cookies = this.cookies(url)
    const defaultPath = new URL(url).pathname.replace(/\/[^/]*$/, '') || '/'
    for (const line of lines) {
      const [pair = '', ...attributes] = line.split(';').map((part) => part.trim())
      const equals = pair.indexOf('=')
      const name = pair.slice(0, equals)
      const value = pair.slice(equals + 1)
      let path = defaultPath
      let expired = false
      for (const attribute of attributes) {
        const [key = '', attrValue = ''] = attribute.split('=')
        if (key.toLowerCase() === 'path') path = attrValue
        if (key.toLowerCase() === 'max-age' && Number(attrValue) <= 0) expired = true
        if (key.toLowerCase() === 'expires' && Date.parse(attrValue) < Date.now()) expired = true
      }
      if (expired) cookies.delete(name)
      else cookies.set(name, { value, path })
    }
  }
}

/** Browsers scope cookies by host, not port (RFC 6265 §8.5). */
const hostOnly = (host: string) => host.replace(/:\d+$/, '')

/**
 * Logs in through the dev provider's own pages, from the page `start` landed on: the login form (any name and
 * password), then the consent form, by their `action`, until the provider redirects to `relyingParty` (an
 * origin). Returns that redirect's target, not yet followed: the callback URL with code and state.
 */
export async function loginAtProvider(
  browser: BrowserClient,
  start: BrowserResponse[],
  login: string,
  relyingParty: string,
): Promise<string> {
  const hops = [...start]
  for (let step = 0; step < 12; step++) {
    const page = hops[hops.length - 1]!
    const location = page.headers.location
    if (page.status >= 300 && page.status <= 399 && typeof location === 'string') {
      const next = new URL(location, page.url)
      if (next.origin === relyingParty) return next.href
      hops.push(...(await browser.navigate(next.href, { site: 'same-origin' }, relyingParty)))
      continue
    }
    const action = /<form[^>]*action="([^"]+)"/.exec(page.body)?.[1]
    const prompt = /name="prompt" value="([^"]+)"/.exec(page.body)?.[1]
    if (action === undefined || prompt === undefined) {
      throw new Error(`no form at ${page.url} (${page.status}): ${page.body.slice(0, 300)}`)
    }
    const form: Record<string, string> = prompt === 'login' ? { prompt, login, password: 'any' } : { prompt }
    hops.push(
      await browser.send(new URL(action.replaceAll('&amp;', '&'), page.url).href, {
        form,
        site: 'same-origin',
      }),
    )
  }
  throw new Error('the provider did not redirect back')
}
