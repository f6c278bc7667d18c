/**
 * Request headers read straight from the Node parser's `rawHeaders` list. Reading
 * `request.headers` on @hono/node-server builds a web `Headers` (every field validated and
 * copied) the first time; the core reads only a few fields of a request it forwards, so on
 * Node it gets this view and the copy is never made.
 * @module
 */
import type { HeaderReader } from '../../platform.ts'

export class RawHeaderReader implements HeaderReader {
  constructor(private readonly raw: readonly string[]) {}

  /** As `Headers.get`: `name` in lowercase; repeated fields joined with ", "; null when absent. */
  get(name: string): string | null {
    const raw = this.raw
    let value: string | null = null
    for (let i = 0; i < raw.length; i += 2) {
      const field = raw[i]!
      // Most clients send lowercase or canonical case; only a same-length name is lowered.
      if (field.length !== name.length || (field !== name && field.toLowerCase() !== name)) continue
      value = value === null ? raw[i + 1]! : `${value}, ${raw[i + 1]}`
    }
    return value
  }
}
