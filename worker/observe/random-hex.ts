/**
 * Random hex ids for request ids and trace/span ids. Ids are cut from a pooled block of
 * random bytes so a request costs one small string, not one `getRandomValues` call each:
 * the block is turned into one hex string when it is refilled, and an id is a slice of it
 * (one allocation, instead of a string concatenation per byte).
 * @module
 */
const DIGITS = new TextEncoder().encode('0123456789abcdef')
const POOL = new Uint8Array(4096)
const ASCII = new Uint8Array(POOL.length * 2)
const decoder = new TextDecoder()
let poolHex = ''
let offset = POOL.length

function refill() {
  crypto.getRandomValues(POOL)
  for (let i = 0; i < POOL.length; i++) {
    const b = POOL[i]!
    ASCII[2 * i] = DIGITS[b >> 4]!
    ASCII[2 * i + 1] = DIGITS[b & 15]!
  }
  poolHex = decoder.decode(ASCII)
  offset = 0
}

/** `bytes` random bytes as lowercase hex (`bytes` ≤ 64). Never all zeros, which W3C ids forbid. */
export function randomHex(bytes: number): string {
  if (offset + bytes > POOL.length) refill()
  let any = 0
  for (let i = offset; i < offset + bytes; i++) any |= POOL[i]!
  const out = poolHex.slice(offset * 2, (offset + bytes) * 2)
  offset += bytes
  return any === 0 ? randomHex(bytes) : out
}
