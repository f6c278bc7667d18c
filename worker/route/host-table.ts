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

export interface Candidate extends Conditions {
  /** Position in the document (route, rule, match): the last tie-break. */
  readonly order: number
  /** Returned as is by every lookup that picks this candidate: built once, frozen. */
  readonly result: RouteMatchResult
  /** For RegularExpression paths; undefined otherwise. */
  readonly regex: RegExp | undefined
}

export type PathKind = 'Exact' | 'PathPrefix' | 'RegularExpression'

/** `/foo/` → `/foo`; `/` → `` (the key of the root prefix, which every path starts with). */
export function prefixKey(value: string): string {
  let end = value.length
  while (end > 0 && value.charCodeAt(end - 1) === 47) end--
  return value.slice(0, end)
}

export class HostTable {
  // Created on first use: a large mesh has thousands of host tables, most with one kind of path.
  private exact: Map<string, Candidate[]> | undefined
  private prefix: Map<string, Candidate[]> | undefined
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
    const list = map.get(key)
    if (list === undefined) map.set(key, [candidate])
    else list.push(candidate)
    if (kind === 'PathPrefix') {
      while (this.prefixLengths.length <= key.length) this.prefixLengths.push(false)
      this.prefixLengths[key.length] = true
    }
  }

  /** Sorts every candidate list by precedence; call once, after the last `add`. */
  seal(): void {
    if (this.exact) for (const list of this.exact.values()) if (list.length > 1) list.sort(compareConditions)
    if (this.prefix) for (const list of this.prefix.values()) if (list.length > 1) list.sort(compareConditions)
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
      if (c.regex!.test(path) && conditionsMet(c, req)) return c.result
    }
    return undefined
  }
}

function firstMet(list: readonly Candidate[], req: RouteRequest): RouteMatchResult | undefined {
  for (let i = 0; i < list.length; i++) {
    const c = list[i]!
    if (conditionsMet(c, req)) return c.result
  }
  return undefined
}
