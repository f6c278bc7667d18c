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
  /** For RegularExpression paths. */
  readonly regex?: RegExp
}

export type PathKind = 'Exact' | 'PathPrefix' | 'RegularExpression'

/** `/foo/` → `/foo`; `/` → `` (the key of the root prefix, which every path starts with). */
export function prefixKey(value: string): string {
  let end = value.length
  while (end > 0 && value.charCodeAt(end - 1) === 47) end--
  return value.slice(0, end)
}

export class HostTable {
  readonly #exact = new Map<string, Candidate[]>()
  readonly #prefix = new Map<string, Candidate[]>()
  /** `#prefixLengths[n]` is 1 when some prefix key has length n: most probes are skipped without hashing. */
  #prefixLengths = new Uint8Array(0)
  readonly #regex: Candidate[] = []

  add(kind: PathKind, value: string, candidate: Candidate): void {
    if (kind === 'RegularExpression') {
      this.#regex.push(candidate)
      return
    }
    const map = kind === 'Exact' ? this.#exact : this.#prefix
    const key = kind === 'Exact' ? value : prefixKey(value)
    const list = map.get(key)
    if (list === undefined) map.set(key, [candidate])
    else list.push(candidate)
    if (kind === 'PathPrefix') {
      if (key.length >= this.#prefixLengths.length) {
        const grown = new Uint8Array(Math.max(key.length + 1, this.#prefixLengths.length * 2))
        grown.set(this.#prefixLengths)
        this.#prefixLengths = grown
      }
      this.#prefixLengths[key.length] = 1
    }
  }

  /** Sorts every candidate list by precedence; call once, after the last `add`. */
  seal(): void {
    for (const list of this.#exact.values()) list.sort(compareConditions)
    for (const list of this.#prefix.values()) list.sort(compareConditions)
    this.#regex.sort(compareConditions)
  }

  lookup(req: RouteRequest, path: string): RouteMatchResult | undefined {
    const exact = this.#exact.get(path)
    if (exact !== undefined) {
      const hit = firstMet(exact, req)
      if (hit !== undefined) return hit
    }
    const lengths = this.#prefixLengths
    // Probe path[0, i) at each segment boundary, longest first: i = path.length (the whole
    // path), then every '/' (so `/foo` matches `/foo`, `/foo/` and `/foo/bar`, never `/foobar`).
    for (let i = Math.min(path.length, lengths.length - 1); i >= 0; i--) {
      if (lengths[i] !== 1 || (i !== path.length && path.charCodeAt(i) !== 47)) continue
      const list = this.#prefix.get(i === path.length ? path : path.slice(0, i))
      if (list === undefined) continue
      const hit = firstMet(list, req)
      if (hit !== undefined) return hit
    }
    const regex = this.#regex
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
