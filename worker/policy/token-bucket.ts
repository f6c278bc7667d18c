/**
 * Token buckets keyed by string, in a table of bounded size (LRU). Each bucket is two
 * numbers in typed arrays, so a full table of 100 000 keys costs a few MB and a flood of
 * distinct keys (one million client addresses) only recycles the least recently used
 * slots: memory stays at the bound. An evicted key starts again with a full bucket,
 * which is the price of the bound; size the bound above the number of live clients.
 * @module
 */

export interface BucketLimit {
  /** Tokens refilled per `perMs`. */
  requests: number
  perMs: number
  /** Bucket capacity (default `requests`). */
  burst?: number
}

export interface BucketResult {
  allowed: boolean
  /** Whole tokens left after this request. */
  remaining: number
  /** When denied: ms until one token is back (0 when allowed). */
  retryAfterMs: number
  /** ms until the bucket is full again. */
  resetMs: number
}

export interface TokenBucketTable {
  take(key: string, now: number): BucketResult
  readonly size: number
  readonly maxKeys: number
}

export const DEFAULT_MAX_KEYS = 100_000

export function createTokenBucketTable(limit: BucketLimit, maxKeys = DEFAULT_MAX_KEYS): TokenBucketTable {
  if (!(Number.isInteger(maxKeys) && maxKeys >= 1)) throw new TypeError('maxKeys must be a positive integer')
  const capacity = limit.burst ?? limit.requests
  const rate = limit.requests / limit.perMs // tokens per ms
  if (!(capacity >= 1 && rate > 0)) throw new TypeError('a bucket needs burst ≥ 1 and a positive refill rate')
  // key → slot, plus an intrusive LRU list over slots (prev/next indices). Re-inserting into
  // the Map to track recency would leave deleted entries at its front, and V8's iterator walks
  // over those holes: finding the LRU key then costs O(holes) instead of O(1).
  const slots = new Map<string, number>()
  const keys: string[] = []
  const tokens = new Float64Array(maxKeys)
  const stamps = new Float64Array(maxKeys)
  const prev = new Int32Array(maxKeys)
  const next = new Int32Array(maxKeys)
  let head = -1 // least recently used
  let tail = -1 // most recently used

  const unlink = (slot: number) => {
    const p = prev[slot]!
    const n = next[slot]!
    if (p === -1) head = n
    else next[p] = n
    if (n === -1) tail = p
    else prev[n] = p
  }
  const append = (slot: number) => {
    prev[slot] = tail
    next[slot] = -1
    if (tail === -1) head = slot
    else next[tail] = slot
    tail = slot
  }

  return {
    maxKeys,
    get size() {
      return slots.size
    },
    take(key, now) {
      let slot = slots.get(key)
      let level: number
      if (slot === undefined) {
        if (slots.size < maxKeys) slot = slots.size
        else {
          slot = head
          unlink(slot)
          slots.delete(keys[slot]!)
        }
        keys[slot] = key
        slots.set(key, slot)
        append(slot)
        level = capacity
      } else {
        if (slot !== tail) {
          unlink(slot)
          append(slot)
        }
        const elapsed = now - stamps[slot]!
        level = Math.min(capacity, tokens[slot]! + (elapsed > 0 ? elapsed * rate : 0))
      }
      stamps[slot] = now
      if (level >= 1) {
        level -= 1
        tokens[slot] = level
        return { allowed: true, remaining: Math.floor(level), retryAfterMs: 0, resetMs: Math.ceil((capacity - level) / rate) }
      }
      tokens[slot] = level
      return { allowed: false, remaining: 0, retryAfterMs: Math.ceil((1 - level) / rate), resetMs: Math.ceil((capacity - level) / rate) }
    },
  }
}
