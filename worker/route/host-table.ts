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
   * `prefixLengths[n]` is true when some prefix key has length n, so most probes are skipped
   * without slicing or hashing. A plain array: thousands of small typed arrays would each carry
   * an external backing store and make compiling a large config GC-bound.
   */
  private readonly prefixLengths: boolean[] = []
  private readonly regex: Candidate[] = []

  add(kind: PathKind, value: string, candidate: Candidate): void {
    if (kind === 'RegularExpression') {
      this.regex.push(candidate)
      return
    }
    const map = kind === 'Exact' ? (this.exact ??= new Map()) : (this.prefix ??= new Map())
    const key = kind === 'Exact' ? value : prefixKey(value)
    const entry = map.get(key)
    if (entry === undefined) map.set(key, candidate)
    else if (Array.isArray(entry)) entry.push(candidate)
    else map.set(key, [entry, candidate])
    if (kind === 'PathPrefix') {
      while (this.prefixLengths.length <= key.length) this.prefixLengths.push(false)
      this.prefixLengths[key.length] = true
    }
  }

  /** Sorts every candidate list by precedence; call once, after the last `add`. */
  seal(): void {
    if (this.exact) for (const entry of this.exact.values()) if (Array.isArray(entry)) entry.sort(compareConditions)
    if (this.prefix) for (const entry of this.prefix.values()) if (Array.isArray(entry)) entry.sort(compareConditions)
    this.regex.sort(compareConditions)
  }

  lookup(req: RouteRequest, path: string): RouteMatchResult | undefined {
    const exact = this.exact?.get(path)
    if (exact !== undefined) {
      const hit = firstMet(exact, req)
      if (hit !== undefined) return hit
    }
    const prefix = this.prefix
    const lengths = this.prefixLengths
    // Probe path[0, i) at each segment boundary, longest first: i = path.length (the whole
    // path), then every '/' (so `/foo` matches `/foo`, `/foo/` and `/foo/bar`, never `/foobar`).
    for (let i = Math.min(path.length, lengths.length - 1); i >= 0; i--) {
      if (lengths[i] !== true || (i !== path.length && path.charCodeAt(i) !== 47)) continue
      const list = prefix!.get(i === path.length ? path : path.slice(0, i))
      if (list === undefined) continue
      const hit = firstMet(list, req)
      if (hit !== undefined) return hit
    }
    const regex = this.regex
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
