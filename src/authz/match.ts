import { type ParamRule, paramRule } from './params.js'
import { FLINK_ROUTES, type FlinkRoute, STATIC_UI_ROUTE } from './routes.js'

/**
 * Route matching: (method, matchPath) -> route and validated parameters.
 *
 * The table is compiled once into one segment trie per method. Matching walks the path in place (no split),
 * literal segments before parameters with backtracking, which is the order Flink's router gives
 * (`RestHandlerUrlComparator` sorts `/jobs/overview` before `/jobs/:jobid`; the first pattern that fits wins
 * and its parameters are then converted, a bad one being a 400). A parameter-free route returns a
 * preallocated result; the only per-request allocation is a result with parameters.
 *
 * A GET that fits no REST route is Flink's static file handler (`/:*`), category UI, unless its first
 * segment is one of the REST namespaces (`jobs`, `jars`, ... in any letter case) or a version prefix
 * (`v0`, `v2`, `V1`, ...): then it is an unknown route. So `/jobs/<id>/YARN-CANCEL`, `/jobs/<id>/yarn-cancel/x`
 * or `/JOBS/...` are denied instead of waved through as dashboard files.
 */

export type RouteMatch =
  | { readonly kind: 'route'; readonly route: FlinkRoute; readonly params: Readonly<Record<string, string>> }
  | { readonly kind: 'static'; readonly route: FlinkRoute; readonly params: Readonly<Record<string, string>> }
  | {
      readonly kind: 'bad-param'
      readonly route: FlinkRoute
      readonly param: string
      readonly rule: ParamRule
    }
  | { readonly kind: 'unknown'; readonly route: null }

export interface RouteMatcher {
  /** `matchPath` as produced by `canonicalize()`: decoded, `/v1` and a trailing slash removed. */
  match(method: string, matchPath: string): RouteMatch
}

interface Terminal {
  readonly route: FlinkRoute
  readonly paramNames: readonly string[]
  readonly paramRules: readonly ParamRule[]
  /** Shared result for a route without parameters. */
  readonly fixedResult: RouteMatch | null
}

interface TrieNode {
  readonly literals: Map<string, TrieNode>
  param: { readonly name: string; readonly node: TrieNode } | null
  terminal: Terminal | null
}

const EMPTY_PARAMS: Readonly<Record<string, string>> = Object.freeze({})
const UNKNOWN: RouteMatch = Object.freeze({ kind: 'unknown', route: null })
const STATIC: RouteMatch = Object.freeze({ kind: 'static', route: STATIC_UI_ROUTE, params: EMPTY_PARAMS })
const VERSION_SEGMENT = /^v[0-9]+$/i
/** Deeper than any Flink route (8 parameters at most, in /jobs/.../attempts/:attempt/accumulators). */
const MAX_PARAMS = 16

const newNode = (): TrieNode => ({ literals: new Map(), param: null, terminal: null })

/** Compile a route table. Throws on a malformed template, an unvalidated parameter or a duplicate route. */
export function compileRoutes(routes: readonly FlinkRoute[]): RouteMatcher {
  const tries = new Map<string, TrieNode>()
  const namespaces = new Set<string>()

  for (const route of routes) {
    if (!route.template.startsWith('/') || route.template.length < 2 || route.template.endsWith('/')) {
      throw new Error(`route template "${route.template}" must start with "/" and have no trailing "/"`)
    }
    let node = tries.get(route.method)
    if (node === undefined) {
      node = newNode()
      tries.set(route.method, node)
    }
    const paramNames: string[] = []
    const paramRules: ParamRule[] = []
    const segments = route.template.slice(1).split('/')
    for (const [index, segment] of segments.entries()) {
      if (segment === '') throw new Error(`route template "${route.template}" has an empty segment`)
      if (segment.startsWith(':')) {
        if (index === 0) throw new Error(`route template "${route.template}" starts with a parameter`)
        const name = segment.slice(1)
        const rule = paramRule(name)
        if (rule === undefined) throw new Error(`route "${route.template}": no validation rule for :${name}`)
        if (node.param === null) node.param = { name, node: newNode() }
        else if (node.param.name !== name) {
          throw new Error(`route "${route.template}": :${name} where another route has :${node.param.name}`)
        }
        paramNames.push(name)
        paramRules.push(rule)
        node = node.param.node
      } else {
        if (index === 0) namespaces.add(segment.toLowerCase())
        let child = node.literals.get(segment)
        if (child === undefined) {
          child = newNode()
          node.literals.set(segment, child)
        }
        node = child
      }
    }
    if (paramNames.length > MAX_PARAMS) throw new Error(`route "${route.template}" has too many parameters`)
    if (node.terminal !== null) {
      throw new Error(`duplicate route ${route.method} ${route.template} (${node.terminal.route.template})`)
    }
    node.terminal = {
      route,
      paramNames,
      paramRules,
      fixedResult:
        paramNames.length === 0 ? Object.freeze({ kind: 'route', route, params: EMPTY_PARAMS }) : null,
    }
  }

  // Scratch space for parameter offsets. Matching is synchronous, so one buffer per matcher is enough.
  const starts = new Int32Array(MAX_PARAMS)
  const ends = new Int32Array(MAX_PARAMS)

  const walk = (node: TrieNode, path: string, start: number, depth: number): Terminal | null => {
    if (start > path.length) return node.terminal
    let end = path.indexOf('/', start)
    if (end === -1) end = path.length
    if (end === start) return null
    const child = node.literals.get(path.slice(start, end))
    if (child !== undefined) {
      const found = walk(child, path, end + 1, depth)
      if (found !== null) return found
    }
    if (node.param !== null) {
      starts[depth] = start
      ends[depth] = end
      return walk(node.param.node, path, end + 1, depth + 1)
    }
    return null
  }

  const looksLikeApi = (matchPath: string): boolean => {
    let end = matchPath.indexOf('/', 1)
    if (end === -1) end = matchPath.length
    const first = matchPath.slice(1, end)
    return VERSION_SEGMENT.test(first) || namespaces.has(first.toLowerCase())
  }

  return {
    match(method: string, matchPath: string): RouteMatch {
      const root = tries.get(method)
      const terminal = root === undefined || matchPath.length < 2 ? null : walk(root, matchPath, 1, 0)
      if (terminal === null) {
        if (method !== 'GET') return UNKNOWN
        return matchPath.length > 1 && looksLikeApi(matchPath) ? UNKNOWN : STATIC
      }
      if (terminal.fixedResult !== null) return terminal.fixedResult
      const params: Record<string, string> = {}
      for (let i = 0; i < terminal.paramNames.length; i++) {
        const name = terminal.paramNames[i]!
        const rule = terminal.paramRules[i]!
        const value = matchPath.slice(starts[i]!, ends[i]!)
        if (!rule.test(value)) return { kind: 'bad-param', route: terminal.route, param: name, rule }
        params[name] = value
      }
      return { kind: 'route', route: terminal.route, params }
    },
  }
}

const flinkMatcher = compileRoutes(FLINK_ROUTES)

/** Match against Flink's JobManager routes (`FLINK_ROUTES`). */
export function matchRoute(method: string, matchPath: string): RouteMatch {
  return flinkMatcher.match(method, matchPath)
}
