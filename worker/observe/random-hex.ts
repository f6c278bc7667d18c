/**
 * Random hex ids for request ids and trace/span ids. Ids are cut from a pooled block of
 * random bytes so a request costs one small string, not one `getRandomValues` call each.
 * @module
 */
const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'))
const POOL = new Uint8Array(4096)
let offset = POOL.length

/** `bytes` random bytes as lowercase hex (`bytes` ≤ 64). Never all zeros, which W3C ids forbid. */
export function randomHex(bytes: number): string {
  if (offset + bytes > POOL.length) {
    crypto.getRandomValues(POOL)
    offset = 0
  }
  let out = ''
  let any = 0
  for (let i = offset; i < offset + bytes; i++) {
    const b = POOL[i]!
    any |= b
    out += HEX[b]
  }
  offset += bytes
  return any === 0 ? randomHex(bytes) : out
}
