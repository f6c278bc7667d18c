/**
 * The rules that apply to one hostname (or one wildcard suffix, or every host), indexed by
 * path: Exact paths by key, PathPrefix values by key probed at the request path's segment
 * boundaries from the longest configured prefix length to the shortest, RegularExpression
 * paths last. Each index entry holds its candidates pre-sorted by the Gateway API
 * tie-breaks, so a lookup returns the first candidate whose method, headers and query match,
 * and its cost depends on the number of distinct prefix lengths, not on how many routes the
 * table holds.
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
  // Most tables of a large mesh hold one exact path and one prefix (a route per host): the
  // first key of each kind lives inline, and only a second key brings a Map. That halves the
  // memory of such a table and saves the Map's two objects on every probe, which at 10,000
  // routes are cache misses.
  private exactPath: string | undefined
  // The inline keys' lengths, so that a path of another length is passed over without reading
  // the key (at 10,000 routes, another cache miss).
  private exactLength = -1
  private exactEntry: Entry | undefined
  private exactMap: Map<string, Entry> | undefined
  /**
   * With an exact Map: bit n set when a key has length n (bit 31 for every length ≥ 31). A
   * path of a length no key has skips the probe, which at 10,000 paths is a cache miss or two.
   */
  private exactLengths = 0
  private prefixPath: string | undefined
  private prefixLength = -1
  private prefixEntry: Entry | undefined
  private prefixMap: Map<string, Entry> | undefined
  /**
   * With a prefix Map: the distinct lengths of its keys, longest first. A lookup probes only
   * the request path's boundaries at those lengths, so it slices and hashes a few strings at
   * most, however long the path and however many prefixes share the table.
   */
  private prefixLengths: number[] | undefined
  private regex: Candidate[] | undefined

  add(kind: PathKind, value: string, candidate: Candidate): void {
    if (kind === 'RegularExpression') {
      if (this.regex === undefined) this.regex = [candidate]
      else this.regex.push(candidate)
    } else if (kind === 'Exact') {
      if (this.exactMap === undefined && (this.exactPath === undefined || this.exactPath === value)) {
        this.exactPath = value
        this.exactLength = value.length
        this.exactEntry = append(this.exactEntry, candidate)
      } else {
        if (this.exactMap === undefined) {
          this.exactMap = moveToMap(this.exactPath!, this.exactEntry!)
          this.exactLengths = lengthBit(this.exactPath!.length)
        }
        this.exactMap.set(value, append(this.exactMap.get(value), candidate))
        this.exactLengths |= lengthBit(value.length)
      }
    } else {
      const key = prefixKey(value)
      if (this.prefixMap === undefined && (this.prefixPath === undefined || this.prefixPath === key)) {
        this.prefixPath = key
        this.prefixLength = key.length
        this.prefixEntry = append(this.prefixEntry, candidate)
        return
      }
      if (this.prefixMap === undefined) {
        this.prefixMap = moveToMap(this.prefixPath!, this.prefixEntry!)
        this.prefixLengths = [this.prefixPath!.length]
      }
      this.prefixMap.set(key, append(this.prefixMap.get(key), candidate))
      const lengths = this.prefixLengths!
      // A new array, not push (push would reserve room for 17 lengths in every table), and no
      // sort (which allocates a work array): the new length goes in its place, longest first.
      if (!lengths.includes(key.length)) this.prefixLengths = withLength(lengths, key.length)
    }
  }

  /** Sorts every candidate list by precedence; call once, after the last `add`. */
  seal(): void {
    sortEntry(this.exactEntry)
    sortEntry(this.prefixEntry)
    this.exactMap?.forEach(sortEntry)
    this.prefixMap?.forEach(sortEntry)
    this.regex?.sort(compareConditions)
  }

  lookup(req: RouteRequest, path: string): RouteMatchResult | undefined {
    const exactMap = this.exactMap
    const exact = exactMap !== undefined ? ((this.exactLengths & lengthBit(path.length)) !== 0 ? exactMap.get(path) : undefined) : path.length === this.exactLength && path === this.exactPath ? this.exactEntry : undefined
    if (exact !== undefined) {
      const hit = firstMet(exact, req)
      if (hit !== undefined) return hit
    }
    const prefixMap = this.prefixMap
    if (prefixMap !== undefined) {
      const lengths = this.prefixLengths!
      // Probe path[0, n) for each prefix length n, longest first, where n ends a segment.
      for (let k = 0; k < lengths.length; k++) {
        const n = lengths[k]!
        if (!endsSegment(path, n)) continue
        const entry = prefixMap.get(n === path.length ? path : path.slice(0, n))
        if (entry === undefined) continue
        const hit = firstMet(entry, req)
        if (hit !== undefined) return hit
      }
    } else if (this.prefixLength >= 0 && endsSegment(path, this.prefixLength) && path.startsWith(this.prefixPath!)) {
      const hit = firstMet(this.prefixEntry!, req)
      if (hit !== undefined) return hit
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

/**
 * Whether a prefix of length n ends on a segment boundary of the path: n = path.length, or
 * path[n] is '/'. So `/foo` matches `/foo`, `/foo/` and `/foo/bar`, never `/foobar`; the root
 * prefix has the key "" (n = 0) and matches every path.
 */
function endsSegment(path: string, n: number): boolean {
  return n === path.length || (n < path.length && path.charCodeAt(n) === 47)
}

function append(entry: Entry | undefined, candidate: Candidate): Entry {
  if (entry === undefined) return candidate
  if (Array.isArray(entry)) {
    entry.push(candidate)
    return entry
  }
  return [entry, candidate]
}

function sortEntry(entry: Entry | undefined): void {
  if (Array.isArray(entry)) entry.sort(compareConditions)
}

const lengthBit = (length: number): number => 1 << (length < 31 ? length : 31)

function withLength(lengths: readonly number[], length: number): number[] {
  const out = new Array<number>(lengths.length + 1)
  let i = 0
  for (; i < lengths.length && lengths[i]! > length; i++) out[i] = lengths[i]!
  out[i] = length
  for (; i < lengths.length; i++) out[i + 1] = lengths[i]!
  return out
}

function moveToMap(key: string, entry: Entry): Map<string, Entry> {
  return new Map([[key, entry]])
}

function firstMet(entry: Entry, req: RouteRequest): RouteMatchResult | undefined {
  if (!Array.isArray(entry)) return conditionsMet(entry, req) ? entry : undefined
  for (let i = 0; i < entry.length; i++) {
    const c = entry[i]!
    if (conditionsMet(c, req)) return c
  }
  return undefined
}
