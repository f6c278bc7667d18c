/**
 * The non-path parts of an HTTPRouteMatch (method, headers, query parameters), compiled
 * once per config and checked only on the few candidates the path lookup leaves.
 * @module
 */
import type { RouteMatch } from '../../protocol/schema.ts'
import type { RouteRequest } from './types.ts'
import { queryParam } from './query.ts'

/** One header or query check: an exact value, or a regex anchored to the whole value. */
export interface ValueCheck {
  readonly name: string
  readonly exact: string | undefined
  readonly regex: RegExp | undefined
}

export interface Conditions {
  readonly method: string | undefined
  readonly headers: readonly ValueCheck[]
  readonly query: readonly ValueCheck[]
}

/**
 * Compiles config regexes once per config, anchored: the Gateway API matches a
 * RegularExpression against the whole value, not a substring. Equal sources share one RegExp.
 */
export function createRegexCache(): (source: string) => RegExp {
  const cache = new Map<string, RegExp>()
  return (source) => {
    let re = cache.get(source)
    if (re === undefined) {
      re = new RegExp(`^(?:${source})$`)
      cache.set(source, re)
    }
    return re
  }
}

/** Shared by every match without headers or query checks: most of them, in a large config. */
const NO_CHECKS: readonly ValueCheck[] = Object.freeze([])

function compileChecks(list: RouteMatch['headers'], regex: (source: string) => RegExp, fold: boolean): readonly ValueCheck[] {
  if (list.length === 0) return NO_CHECKS
  const out: ValueCheck[] = []
  for (const entry of list) {
    const name = fold ? entry.name.toLowerCase() : entry.name
    // The Gateway API considers only the first entry for a name; later duplicates are ignored.
    if (out.some((c) => c.name === name)) continue
    out.push(entry.type === 'RegularExpression' ? { name, exact: undefined, regex: regex(entry.value) } : { name, exact: entry.value, regex: undefined })
  }
  return out
}

export function compileConditions(match: RouteMatch, regex: (source: string) => RegExp): Conditions {
  return {
    method: match.method,
    // Header names compare case-insensitively, query parameter names case-sensitively.
    headers: compileChecks(match.headers, regex, true),
    query: compileChecks(match.queryParams, regex, false),
  }
}

function valueMatches(check: ValueCheck, value: string | null | undefined): boolean {
  if (value === null || value === undefined) return false
  return check.regex === undefined ? value === check.exact : check.regex.test(value)
}

export function conditionsMet(c: Conditions, req: RouteRequest): boolean {
  if (c.method !== undefined && c.method !== req.method) return false
  for (let i = 0; i < c.headers.length; i++) {
    const check = c.headers[i]!
    if (!valueMatches(check, req.headers.get(check.name))) return false
  }
  for (let i = 0; i < c.query.length; i++) {
    const check = c.query[i]!
    if (!valueMatches(check, queryParam(req.query, check.name))) return false
  }
  return true
}

/**
 * Gateway API tie-breaks among matches of equal path precedence: a method match first, then
 * more header matches, then more query matches, then document order.
 */
export function compareConditions(a: Conditions & { order: number }, b: Conditions & { order: number }): number {
  return (
    (b.method === undefined ? 0 : 1) - (a.method === undefined ? 0 : 1) ||
    b.headers.length - a.headers.length ||
    b.query.length - a.query.length ||
    a.order - b.order
  )
}
