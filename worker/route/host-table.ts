/**
 * The rules that apply to one hostname (or one wildcard suffix, or every host), indexed by
 * path: Exact paths in a Map, PathPrefix values in a Map probed from the request path's
 * longest segment boundary to its shortest, RegularExpression paths last. Each index entry
 * holds its candidates pre-sorted by the Gateway API tie-breaks, so a lookup returns the
 * first candidate whose method, headers and query match, and the cost of a lookup depends on
 * the path's depth, not on how many routes the table holds.
 * @module
 */
import type { RouteMatchResult, RouteRequest } from './types.ts'
import { compareConditions, conditionsMet, type Conditions } from './conditions.ts'

/**
 * One match of one rule, as the index holds it. It is also the `RouteMatchResult` a lookup
 * returns (built once, frozen): with 10,000 routes every object a lookup touches is likely a
 * cache miss, so the result is not a separate object.
 */
export interface Candidate extends Conditions, RouteMatchResult {
  /** Position in the document (route, rule, match): the last tie-break. */
  readonly order: number
  /** For RegularExpression paths; undefined otherwise. */
  readonly regex: RegExp | undefined
}

/** An index entry: one candidate (the common case, no array to chase) or several, sorted. */
type Entry = Candidate | Candidate[]

export type PathKind = 'Exact' | 'PathPrefix' | 'RegularExpression'

/** `/foo/` → `/foo`; `/` → `` (the key of the root prefix, which every path starts with). */
export function prefixKey(value: string): string {
  let end = value.length
  while (end > 0 && value.charCodeAt(end - 1) === 47) end--
  return value.slice(0, end)
}

export class HostTable {
  // Created on first use: a large mesh has thousands of host tables, most with one kind of path.
  private exact: Map<string, Entry> | undefined
  private prefix: Map<string, Entry> | undefined
  /**
   * The distinct lengths of the prefix keys, longest first: a lookup probes only the request
   * path's boundaries at those lengths, so it slices and hashes a few strings at most, however
   * long the path and however many prefixes share the table.
   */
  private prefixLengths: number[] = []
  private regex: Candidate[] | undefined

  add(kind: PathKind, value: string, candidate: Candidate): void {
    if (kind === 'RegularExpression') {
      if (this.regex === undefined) this.regex = [candidate]
      else this.regex.push(candidate)
      return
    }
    const map = kind === 'Exact' ? (this.exact ??= new Map()) : (this.prefix ??= new Map())
    const key = kind === 'Exact' ? value : prefixKey(value)
    const entry = map.get(key)
    if (entry === undefined) map.set(key, candidate)
    else if (Array.isArray(entry)) entry.push(candidate)
    else map.set(key, [entry, candidate])
    if (kind === 'PathPrefix' && !this.prefixLengths.includes(key.length)) {
      // A new array each time, not push: push would reserve room for 17 lengths in every table.
      this.prefixLengths = [...this.prefixLengths, key.length].sort((a, b) => b - a)
    }
  }

  /** Sorts every candidate list by precedence; call once, after the last `add`. */
  seal(): void {
    if (this.exact) for (const entry of this.exact.values()) if (Array.isArray(entry)) entry.sort(compareConditions)
    if (this.prefix) for (const entry of this.prefix.values()) if (Array.isArray(entry)) entry.sort(compareConditions)
    this.regex?.sort(compareConditions)
  }

  lookup(req: RouteRequest, path: string): RouteMatchResult | undefined {
    const exact = this.exact?.get(path)
    if (exact !== undefined) {
      const hit = firstMet(exact, req)
      if (hit !== undefined) return hit
    }
    const prefix = this.prefix
    if (prefix !== undefined) {
      const lengths = this.prefixLengths
      // Probe path[0, n) for each prefix length n, longest first, where n ends a segment:
      // n = path.length, or path[n] is '/' (so `/foo` matches `/foo`, `/foo/` and `/foo/bar`,
      // never `/foobar`). The root prefix has the key "" (n = 0) and matches every path.
      for (let k = 0; k < lengths.length; k++) {
        const n = lengths[k]!
        if (n > path.length || (n !== path.length && path.charCodeAt(n) !== 47)) continue
        const entry = prefix.get(n === path.length ? path : path.slice(0, n))
        if (entry === undefined) continue
        const hit = firstMet(entry, req)
        if (hit !== undefined) return hit
      }
    }
    const regex = this.regex
    if (regex === undefined) return undefined
    for (let i = 0; i < regex.length; i++) {
      const c = regex[i]!
      if (c.regex!.test(path) && conditionsMet(c, req)) return c
    }
    return undefined
  }
}

function firstMet(entry: Entry, req: RouteRequest): RouteMatchResult | undefined {
  if (!Array.isArray(entry)) return conditionsMet(entry, req) ? entry : undefined
  for (let i = 0; i < entry.length; i++) {
    const c = entry[i]!
    if (conditionsMet(c, req)) return c
  }
  return undefined
}
