/**
 * A fast, synchronous 32-bit string hash for consistent hashing. `crypto.subtle` is
 * asynchronous and far too slow for a per-request pick; FNV-1a alone clusters similar
 * keys (`10.0.0.1`, `10.0.0.2`), so its result goes through murmur3's finalizer, which
 * spreads every input bit over the whole word.
 * @module
 */

const FNV_OFFSET = 0x811c9dc5

/** FNV-1a over `text`, continuing from `state` (so a common prefix is hashed once). */
export function fnv1a(text: string, state = FNV_OFFSET): number {
  let h = state
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h
}

/** murmur3's 32-bit finalizer: every input bit affects every output bit. */
export function mix32(h: number): number {
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

export const hash32 = (text: string): number => mix32(fnv1a(text))
