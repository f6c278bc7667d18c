/**
 * An HTTPRouteMatch (the `match` of a rate limit policy) as one predicate: the path by
 * Gateway API rules (Exact, PathPrefix on segment boundaries, anchored RegularExpression),
 * then method, headers and query through the routing core's compiled conditions.
 * @module
 */
import type { RouteMatch } from '../../protocol/schema.ts'
import { compileConditions, conditionsMet, createRegexCache } from '../route/conditions.ts'
import type { RouteRequest } from '../route/types.ts'

export type RequestPredicate = (req: RouteRequest) => boolean

export function compileRequestMatch(match: RouteMatch, regex = createRegexCache()): RequestPredicate {
  const conditions = compileConditions(match, regex)
  const path = compilePath(match.path, regex)
  return (req) => path(req.path) && conditionsMet(conditions, req)
}

function compilePath(p: RouteMatch['path'], regex: (source: string) => RegExp): (path: string) => boolean {
  if (p.type === 'Exact') return (path) => path === p.value
  if (p.type === 'RegularExpression') {
    const re = regex(p.value)
    return (path) => re.test(path)
  }
  const prefix = p.value.replace(/\/+$/, '')
  if (prefix === '') return () => true
  return (path) => path.startsWith(prefix) && (path.length === prefix.length || path.charCodeAt(prefix.length) === 47 /* / */)
}
