/**
 * Response fields as the client gets them (names and values as strings, hop-by-hop fields
 * removed), made once per distinct head instead of once per answer.
 *
 * undici hands an answer's fields as Buffer views of the socket read they arrived in, in
 * order. An upstream tends to send the same fields byte for byte (an app's answers to one
 * route; nginx's within the same second of its `Date`), so the last few heads are kept: when
 * an answer's fields lie in one read, laid out exactly as a kept head's (each field at the
 * same place, of the same length) and with the same bytes, that head's strings serve again.
 * The check is a loop over the views and one compare of the bytes; what it saves is a
 * Buffer-to-string per name and value and the hop-by-hop checks.
 * @module
 */

/** Heads kept (newest first) and the longest one kept. */
const KEPT = 8
const MAX_BYTES = 4096

interface Kept {
  /** The fields' bytes, from the first name to the last value. */
  bytes: Buffer
  /** Each view's offset from the first name, and its length: `[offset, length, …]`. */
  layout: number[]
  fields: string[]
}

export class RepeatedHeads {
  private kept: Kept[] = []

  constructor(private readonly convert: (raw: Buffer[]) => string[]) {}

  /** The client's fields for `raw`: a kept head's, or converted now (and kept). Read-only. */
  fields(raw: Buffer[]): readonly string[] {
    const n = raw.length
    if (n === 0) return this.convert(raw)
    const first = raw[0]!
    const last = raw[n - 1]!
    const start = first.byteOffset
    const span = last.byteOffset + last.length - start
    const inOneRead = last.buffer === first.buffer && span > 0 && span <= MAX_BYTES
    if (inOneRead) {
      for (const k of this.kept) if (k.bytes.length === span && sameLayout(raw, first.buffer, start, k.layout) && k.bytes.equals(new Uint8Array(first.buffer, start, span))) return k.fields
    }
    const fields = this.convert(raw)
    if (inOneRead && contiguous(raw, first.buffer)) {
      const layout: number[] = []
      for (const b of raw) layout.push(b.byteOffset - start, b.length)
      this.kept.unshift({ bytes: Buffer.from(new Uint8Array(first.buffer, start, span)), layout, fields })
      if (this.kept.length > KEPT) this.kept.pop()
    }
    return fields
  }
}

function sameLayout(raw: Buffer[], buffer: ArrayBufferLike, start: number, layout: number[]): boolean {
  if (layout.length !== 2 * raw.length) return false
  for (let i = 0; i < raw.length; i++) {
    const b = raw[i]!
    if (b.buffer !== buffer || b.byteOffset - start !== layout[2 * i] || b.length !== layout[2 * i + 1]) return false
  }
  return true
}

/** All views of one buffer, each after the one before: the fields as they came off the wire. */
function contiguous(raw: Buffer[], buffer: ArrayBufferLike): boolean {
  let end = -1
  for (const b of raw) {
    if (b.buffer !== buffer || b.byteOffset < end) return false
    end = b.byteOffset + b.length
  }
  return true
}
