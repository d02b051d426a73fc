import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createServer as createTcpServer, type Server as TcpServer } from 'node:net'

/**
 * A ResourceManager stand-in that answers the shapes Hadoop's RM web services use (RMWebServices, the HA
 * filter): `GET /ws/v1/cluster/apps/{id}` -> `{"app": {...}}` or 404 with a RemoteException; the list with
 * `{"apps": null}` when empty; `/isActive` 200 (active) or 405 (standby); `/ws/v1/cluster/info` haState; a
 * standby answers every web-service call with 307 to the active RM.
 */
export interface ResourceManagerStandin {
  readonly url: string
  /** The applications this RM reports, by id (mutable: tests move them through their states). */
  readonly apps: Map<string, Record<string, unknown>>
  /** null: active; else the URL of the active RM a standby redirects to. */
  standbyOf: string | null
  /** The request targets received, in order. */
  readonly requests: string[]
  close(): Promise<void>
}

export async function startResourceManager(): Promise<ResourceManagerStandin> {
  const apps = new Map<string, Record<string, unknown>>()
  const requests: string[] = []
  const state = { standbyOf: null as string | null }
  const server = createServer((request, response) => {
    const target = request.url ?? '/'
    requests.push(target)
    const path = target.split('?')[0]!
    const send = (status: number, body: unknown) => {
      response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body))
    }
    if (path === '/isActive') {
      response
        .writeHead(state.standbyOf === null ? 200 : 405)
        .end(state.standbyOf === null ? 'I am Active!' : '')
      return
    }
    if (state.standbyOf !== null) {
      response.writeHead(307, { location: `${state.standbyOf}${target}` }).end()
      return
    }
    if (path === '/ws/v1/cluster/info') return send(200, { clusterInfo: { haState: 'ACTIVE' } })
    if (path === '/ws/v1/cluster/apps') {
      const running = [...apps.values()].filter((app) => app.state === 'RUNNING')
      return send(200, { apps: running.length === 0 ? null : { app: running } })
    }
    const id = /^\/ws\/v1\/cluster\/apps\/([^/]+)$/.exec(path)?.[1]
    const app = id === undefined ? undefined : apps.get(id)
    if (app === undefined) {
      return send(404, {
        RemoteException: {
          exception: 'NotFoundException',
          message: `java.lang.Exception: app with id: ${id} not found`,
          javaClassName: 'org.apache.hadoop.yarn.webapp.NotFoundException',
        },
      })
    }
    return send(200, { app })
  })
  const url = await listen(server)
  return {
    url,
    apps,
    requests,
    get standbyOf() {
      return state.standbyOf
    },
    set standbyOf(value) {
      state.standbyOf = value
    },
    close: () => closeServer(server),
  }
}

/** An application report as the RM gives it for a Flink session on YARN (RUNNING, amRPCAddress host:restPort). */
export function flinkApp(
  id: string,
  amAddress: string | null,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    id,
    user: 'bob',
    name: 'Flink session cluster',
    queue: 'root.default',
    state: 'RUNNING',
    finalStatus: 'UNDEFINED',
    progress: 100,
    trackingUI: 'ApplicationMaster',
    trackingUrl: `http://rm.example.com:8088/proxy/${id}/`,
    applicationType: 'Apache Flink',
    applicationTags: '',
    ...(amAddress === null ? {} : { amRPCAddress: amAddress, amHostHttpAddress: 'nm1.example.com:8042' }),
    ...extra,
  }
}

/** A Flink application master's REST endpoint, as far as the gateway cares: who it is, and what reached it. */
export interface ApplicationMasterStandin {
  readonly url: string
  readonly port: number
  readonly received: { method: string; url: string; headers: IncomingHttpHeaders }[]
  close(): Promise<void>
}

export async function startApplicationMaster(clusterId: string): Promise<ApplicationMasterStandin> {
  const received: ApplicationMasterStandin['received'] = []
  const server = createServer((request, response) => {
    received.push({ method: request.method ?? '', url: request.url ?? '', headers: request.headers })
    request.resume()
    if (request.url === '/jobmanager/config') {
      response.writeHead(200, { 'content-type': 'application/json' })
      response.end(JSON.stringify([{ key: 'high-availability.cluster-id', value: clusterId }]))
      return
    }
    if (request.url === '/jars') {
      // Flink's JarListHandler: its own REST base URL, which the gateway must rebase onto its own.
      response.writeHead(200, { 'content-type': 'application/json; charset=UTF-8' })
      response.end(JSON.stringify({ address: url, files: [] }))
      return
    }
    // User code on the AM trying to plant a cookie on the gateway's origin.
    response.writeHead(200, { 'content-type': 'application/json', 'set-cookie': 'planted=1; Path=/' })
    response.end(JSON.stringify({ served: clusterId, path: request.url }))
  })
  const url = await listen(server)
  return { url, port: Number(new URL(url).port), received, close: () => closeServer(server) }
}

/** A socket that only counts who connects: proof that the gateway never dialled it. */
export async function startConnectionCounter(
  host = '127.0.0.1',
): Promise<{ port: number; readonly connections: number; close(): Promise<void> }> {
  let connections = 0
  const server: TcpServer = createTcpServer((socket) => {
    connections++
    socket.destroy()
  })
  await new Promise<void>((resolve) => server.listen(0, host, resolve))
  return {
    port: (server.address() as AddressInfo).port,
    get connections() {
      return connections
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections()
  return new Promise((resolve) => server.close(() => resolve()))
}
