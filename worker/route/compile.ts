/**
 * Compiles a mesh config's routes into a `RouteTable`: the router the ambassador consults
 * for every request. Built once per config version and immutable afterwards.
 *
 * Layout: an exact-hostname Map (holding the implicit service routes too), a Map of wildcard
 * suffixes probed longest first, and one table for routes without hostnames; each of these is
 * a `HostTable` indexed by path. A lookup walks those levels in precedence order and stops at
 * the first one with a match, so it costs a few Map probes whatever the number of routes.
 *
 * @example
 * const table = compileRoutes(config)
 * const hit = table.match({ host: 'api.demo:15001', path: '/v1/users', method: 'GET', headers, query: '' })
 * if (!hit) return noRoute()
 * const service = hit.rule.pickBackend()
 * @module
 */
import type { MeshConfig } from '../../protocol/schema.ts'
import type { RouteMatchResult, RouteRequest, RouteTable } from './types.ts'
import { compileConditions, createRegexCache } from './conditions.ts'
import { compileRule, implicitRule } from './compile-rule.ts'
import { HostTable, prefixKey, type Candidate } from './host-table.ts'
import { normalizeHost } from './host.ts'

export function compileRoutes(config: MeshConfig): RouteTable {
  const exact = new Map<string, HostTable>()
  const wildcard = new Map<string, HostTable>()
  let catchAll: HostTable | undefined
  const regex = createRegexCache()
  let order = 0

  const tableFor = (map: Map<string, HostTable>, key: string): HostTable => {
    let table = map.get(key)
    if (table === undefined) {
      table = new HostTable()
      map.set(key, table)
    }
    return table
  }

  for (const route of config.routes) {
    const tables: HostTable[] = []
    if (route.hostnames === undefined || route.hostnames.length === 0) {
      catchAll ??= new HostTable()
      tables.push(catchAll)
    } else {
      for (const hostname of route.hostnames.length === 1 ? route.hostnames : new Set(route.hostnames)) {
        tables.push(hostname.startsWith('*.') ? tableFor(wildcard, hostname.slice(2)) : tableFor(exact, hostname))
      }
    }
    route.rules.forEach((rule, index) => {
      const compiled = compileRule(route.name, index, rule)
      for (const match of rule.matches) {
        const { type, value } = match.path
        const conditions = compileConditions(match, regex)
        // One object shape for every candidate keeps the lookup loop monomorphic.
        const candidate: Candidate = Object.freeze({
          rule: compiled,
          matchedPrefix: type === 'PathPrefix' ? prefixKey(value) || '/' : undefined,
          method: conditions.method,
          headers: conditions.headers,
          query: conditions.query,
          order: order++,
          regex: type === 'RegularExpression' ? regex(value) : undefined,
        })
        for (const table of tables) table.add(type, value, candidate)
      }
    })
  }

  // The implicit route of each service (CONTRACT §1), for hosts that no route lists by name.
  for (const service of config.services) {
    const rule = implicitRule(service.name)
    for (const host of [service.name, `${service.name}.${config.mesh}`]) {
      if (exact.has(host)) continue
      const table = new HostTable()
      table.add('PathPrefix', '/', Object.freeze({ rule, matchedPrefix: undefined, method: undefined, headers: [], query: [], order: -1, regex: undefined }))
      exact.set(host, table)
    }
  }

  for (const table of exact.values()) table.seal()
  for (const table of wildcard.values()) table.seal()
  catchAll?.seal()
  const hasWildcards = wildcard.size > 0
  const routeCount = config.routes.length

  return Object.freeze({
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
}
