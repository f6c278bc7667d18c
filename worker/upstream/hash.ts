/**
 * A fast, synchronous 32-bit string hash for consistent hashing. `crypto.subtle` is
 * asynchronous and far too slow for a per-request pick; FNV-1a alone clusters similar
 * keys (`10.0.0.1`, `10.0.0.2`), so its result goes through murmur3's finalizer, which
 * spreads every input bit over the whole word.
 * @module
 */

export function hash32(text: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}
