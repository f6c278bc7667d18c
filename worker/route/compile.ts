/**
 * Compiles a mesh config's routes into a `RouteTable`: the router the ambassador consults
 * for every request. Built once per config version and immutable afterwards.
 *
 * Layout: an exact-hostname Map (holding the implicit service routes too), a Map of wildcard
 * suffixes probed longest first, and one table for routes without hostnames; each of these is
 * a `HostTable` indexed by path. A lookup walks those levels in precedence order and stops at
 * the first one with a match, so it costs a few Map probes whatever the number of routes.
 *
 * Hostnames that list the same routes (a route's `api` and `api.mesh`) share one `HostTable`:
 * at 10,000 routes the table's size is what a lookup pays for in cache misses, and what
 * compiling pays for in garbage-collector copies (all of it survives).
 *
 * @example
 * const table = compileRoutes(config)
 * const hit = table.match({ host: 'api.demo:15001', path: '/v1/users', method: 'GET', headers, query: '' })
 * if (!hit) return noRoute()
 * const service = hit.rule.pickBackend()
 * @module
 */
import type { MeshConfig, RouteConfig } from '../../protocol/schema.ts'
import type { RouteMatchResult, RouteRequest, RouteTable } from './types.ts'
import { compileConditions, createRegexCache } from './conditions.ts'
import { compileRule, createSharedPickers, implicitRule } from './compile-rule.ts'
import { HostTable, prefixKey, type Candidate, type PathKind } from './host-table.ts'
import { normalizeHost } from './host.ts'

/** The routes (indexes into `config.routes`) a hostname lists: one, or several in order. */
type RouteList = number | number[]

function listRoute(map: Map<string, RouteList>, key: string, route: number): void {
  const list = map.get(key)
  if (list === undefined) map.set(key, route)
  else if (typeof list === 'number') {
    // A route that names a hostname twice adds its rules once.
    if (list !== route) map.set(key, [list, route])
  } else if (list[list.length - 1] !== route) list.push(route)
}

export interface CompileOptions {
  /**
   * For one of a sequence of versions (an ambassador's): the table this one replaces, or
   * `null` for the first. A route that is the very object one of its routes was (the parse
   * carried it over unchanged: `parseMeshConfig` option `previous`), on hostnames no other
   * route lists, keeps the host table it had; this table remembers its own for the next.
   */
  previous?: RouteTable | null
}

/** Each table compiled with `previous`: the host table of each route that had one to itself. */
const ownTables = new WeakMap<RouteTable, ReadonlyMap<RouteConfig, HostTable>>()

export function compileRoutes(config: MeshConfig, options: CompileOptions = {}): RouteTable {
  const { routes } = config
  const regex = createRegexCache()
  const pickers = createSharedPickers()
  const exactHosts = new Map<string, RouteList>()
  const wildcardHosts = new Map<string, RouteList>()
  const catchAllRoutes: number[] = []
  for (let ri = 0; ri < routes.length; ri++) {
    const hostnames = routes[ri]!.hostnames
    if (hostnames === undefined || hostnames.length === 0) catchAllRoutes.push(ri)
    else for (const hostname of hostnames) hostname.startsWith('*.') ? listRoute(wildcardHosts, hostname.slice(2), ri) : listRoute(exactHosts, hostname, ri)
  }
  const hasOwnHostnames = (ri: number): boolean => {
    const hostnames = routes[ri]!.hostnames
    if (hostnames === undefined || hostnames.length === 0) return false
    for (const h of hostnames) if ((h.startsWith('*.') ? wildcardHosts.get(h.slice(2)) : exactHosts.get(h)) !== ri) return false
    return true
  }
  const kept = options.previous ? ownTables.get(options.previous) : undefined
  const tableOfRoute: (HostTable | undefined)[] = []

  // The candidates of every route in document order, with their path kind and value; route i
  // owns [first[i], first[i + 1]) (none when it keeps its table).
  const candidates: Candidate[] = []
  const kinds: PathKind[] = []
  const values: string[] = []
  const first: number[] = []
  for (let ri = 0; ri < routes.length; ri++) {
    const route = routes[ri]!
    first.push(candidates.length)
    const table = kept?.get(route)
    if (table !== undefined && hasOwnHostnames(ri)) {
      tableOfRoute[ri] = table
      continue
    }
    const rules = route.rules
    for (let index = 0; index < rules.length; index++) {
      const rule = rules[index]!
      const compiled = compileRule(route.name, index, rule, pickers)
      const matches = rule.matches
      for (let mi = 0; mi < matches.length; mi++) {
        const match = matches[mi]!
        const type = match.path.type
        const value = match.path.value
        const conditions = compileConditions(match, regex)
        kinds.push(type)
        values.push(value)
        // One object shape for every candidate keeps the lookup loop monomorphic.
        candidates.push(
          Object.freeze({
            rule: compiled,
            matchedPrefix: type === 'PathPrefix' ? prefixKey(value) || '/' : undefined,
            method: conditions.method,
            headers: conditions.headers,
            query: conditions.query,
            order: candidates.length,
            regex: type === 'RegularExpression' ? regex(value) : undefined,
          }),
        )
      }
    }
  }
  first.push(candidates.length)

  // Hostnames with the same single route share its table; a hostname several routes list gets its own.
  const tableFor = (list: RouteList): HostTable => {
    if (typeof list === 'number') return (tableOfRoute[list] ??= buildTable([list]))
    return buildTable(list)
  }
  const buildTable = (list: number[]): HostTable => {
    const table = new HostTable()
    for (const ri of list) {
      for (let c = first[ri]!; c < first[ri + 1]!; c++) table.add(kinds[c]!, values[c]!, candidates[c]!)
    }
    table.seal()
    return table
  }

  // The same Maps, each route list replaced by its table (setting a key it has adds nothing).
  // (forEach, not for-of: no [key, value] array per entry.)
  exactHosts.forEach((list, host, map) => (map as Map<string, RouteList | HostTable>).set(host, tableFor(list)))
  wildcardHosts.forEach((list, suffix, map) => (map as Map<string, RouteList | HostTable>).set(suffix, tableFor(list)))
  const exact = exactHosts as unknown as Map<string, HostTable>
  const wildcard = wildcardHosts as unknown as Map<string, HostTable>
  const catchAll = catchAllRoutes.length > 0 ? buildTable(catchAllRoutes) : undefined

  // The implicit route of each service (CONTRACT §1), for hosts that no route lists by name.
  for (const service of config.services) {
    const rule = implicitRule(service.name)
    let table: HostTable | undefined
    for (const host of [service.name, `${service.name}.${config.mesh}`]) {
      if (exact.has(host)) continue
      if (table === undefined) {
        table = new HostTable()
        table.add('PathPrefix', '/', Object.freeze({ rule, matchedPrefix: undefined, method: undefined, headers: [], query: [], order: -1, regex: undefined }))
        table.seal()
      }
      exact.set(host, table)
    }
  }

  const hasWildcards = wildcard.size > 0
  const routeCount = routes.length

  const routeTable: RouteTable = Object.freeze({
    routeCount,
    match(req: RouteRequest): RouteMatchResult | undefined {
      const host = normalizeHost(req.host)
      const path = req.path === '' ? '/' : req.path
      const table = exact.get(host)
      if (table !== undefined) {
        const hit = table.lookup(req, path)
        if (hit !== undefined) return hit
      }
      if (hasWildcards) {
        // `*.example.com` covers one or more labels: try each proper suffix, longest first.
        for (let dot = host.indexOf('.', 1); dot >= 0; dot = host.indexOf('.', dot + 1)) {
          const suffixTable = wildcard.get(host.slice(dot + 1))
          if (suffixTable === undefined) continue
          const hit = suffixTable.lookup(req, path)
          if (hit !== undefined) return hit
        }
      }
      return catchAll?.lookup(req, path)
    },
  })
  if (options.previous !== undefined) {
    const own = new Map<RouteConfig, HostTable>()
    tableOfRoute.forEach((t, ri) => t !== undefined && own.set(routes[ri]!, t))
    ownTables.set(routeTable, own)
  }
  return routeTable
}
