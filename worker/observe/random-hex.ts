/**
 * Random hex ids for request ids and trace/span ids. Ids are cut from a pooled block of
 * random bytes so a request costs one small string, not one `getRandomValues` call each:
 * the block is turned into one hex string when it is refilled, and an id is a slice of it
 * (one allocation, instead of a string concatenation per byte).
 *
 * The block is hex-encoded natively where the runtime can (`Uint8Array.prototype.toHex`,
 * else Node's and Bun's `Buffer`), and by a JS loop elsewhere. On Node the loop was a
 * measured hot spot: under load V8 optimized and deoptimized it over and over ("insufficient
 * type feedback", ~1,350 bailouts in 20 s), so refills ran their 8,192 digit stores (then a
 * 4 KiB block) in the interpreter, 5.5-8 µs per request of a bench profile (40 random bytes a
 * request); `Buffer` encodes the block in a few µs whatever the JIT does.
 * @module
 */
// 64 KiB, the most one getRandomValues call fills: a call's fixed cost, not its bytes, was
// what showed in CPU profiles (randomFillSync 0.3-0.5 µs per request with a 4 KiB pool,
// refilled every ~100 requests; now every ~1,600). The hex text is 128 KiB, one string.
const POOL = new Uint8Array(65536)
let poolHex = ''
let offset = POOL.length

export type HexEncoder = (bytes: Uint8Array) => string

/** The portable encoding: digits stored into one ASCII block, decoded once. */
export function hexLoop(): HexEncoder {
  const digits = new TextEncoder().encode('0123456789abcdef')
  const decoder = new TextDecoder()
  let ascii = new Uint8Array(0)
  return (bytes) => {
    if (ascii.length !== bytes.length * 2) ascii = new Uint8Array(bytes.length * 2)
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i]!
      ascii[2 * i] = digits[b >> 4]!
      ascii[2 * i + 1] = digits[b & 15]!
    }
    return decoder.decode(ascii)
  }
}

/** The fastest hex encoding this runtime has. */
function nativeHex(): HexEncoder {
  const proto = Uint8Array.prototype as { toHex?: (this: Uint8Array) => string }
  if (typeof proto.toHex === 'function') return (bytes) => proto.toHex!.call(bytes)
  const B = (globalThis as { Buffer?: { from(b: ArrayBufferLike, offset: number, length: number): { toString(enc: 'hex'): string } } }).Buffer
  if (typeof B?.from === 'function') return (bytes) => B.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')
  return hexLoop()
}
const toHex = nativeHex()

function refill() {
  crypto.getRandomValues(POOL)
  poolHex = toHex(POOL)
  offset = 0
}

/** `bytes` random bytes as lowercase hex (`bytes` ≤ 64). Never all zeros, which W3C ids forbid. */
export function randomHex(bytes: number): string {
  if (offset + bytes > POOL.length) refill()
  // A first byte other than zero settles it (255 times in 256) without a loop over the rest.
  let any = POOL[offset]!
  for (let i = offset + 1; any === 0 && i < offset + bytes; i++) any |= POOL[i]!
  const out = poolHex.slice(offset * 2, (offset + bytes) * 2)
  offset += bytes
  return any === 0 ? randomHex(bytes) : out
}
