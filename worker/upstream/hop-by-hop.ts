/**
 * Hop-by-hop headers (RFC 9110 §7.6.1): meaningful for one connection only, never
 * forwarded, in either direction. Also the headers a `Connection` header names.
 * @module
 */

export const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'http2-settings',
])

/** `HOP_BY_HOP_LENGTH[n]`: some name of HOP_BY_HOP has n characters. */
const HOP_BY_HOP_LENGTH: readonly boolean[] = [...HOP_BY_HOP].reduce<boolean[]>((a, name) => ((a[name.length] = true), a), [])

/**
 * Whether a field name of this length and first character code can be hop-by-hop at all:
 * most fields (Server, Date, Content-Type, ETag, …) have no hop-by-hop name's length, so a
 * caller holding raw bytes skips the lowercased copy and the set lookup.
 */
export const mayBeHopByHop = (length: number, firstCode: number): boolean => HOP_BY_HOP_LENGTH[length] === true || (length >= 6 && (firstCode | 0x20) === 0x70)

/**
 * True for a lowercase header name that must not cross the proxy. The length is checked
 * first: this runs for every request and response field, and a set lookup hashes the
 * (fresh) name each time.
 */
export const isHopByHop = (lowerName: string): boolean => (HOP_BY_HOP_LENGTH[lowerName.length] === true && HOP_BY_HOP.has(lowerName)) || lowerName.startsWith('proxy-')

/**
 * Whether a client request field (lowercase name) stays on this hop: hop-by-hop, named by the
 * request's `Connection` (`named`), Host (each hop sends its own), or one the hop drops.
 */
export const staysOnHop = (lowerName: string, named: readonly string[] | undefined, drop: ReadonlySet<string> | undefined): boolean =>
  isHopByHop(lowerName) || lowerName === 'host' || named?.includes(lowerName) === true || drop?.has(lowerName) === true

/**
 * True when a `Connection` value names nothing but `keep-alive` or `close` (the usual case),
 * which are hop-by-hop already: nothing more to drop, and no list to build per request.
 */
export const namesNoOtherHeader = (value: string | null | undefined): boolean => {
  if (!value) return true
  if (value.length > 10) return false
  const v = value.toLowerCase()
  return v === 'keep-alive' || v === 'close'
}

/** The names a `Connection` value makes hop-by-hop beyond the usual ones, or undefined when it names none. */
export const namedByConnection = (value: string | null | undefined): string[] | undefined => (namesNoOtherHeader(value) ? undefined : connectionNamed(value))

/** The lowercase names a `Connection` header value lists (`close` and `keep-alive` included, harmlessly). */
export function connectionNamed(value: string | null | undefined): string[] {
  if (!value) return []
  const out: string[] = []
  for (const part of value.split(',')) {
    const name = part.trim().toLowerCase()
    if (name) out.push(name)
  }
  return out
}

/**
 * An answer's fields (`[name, value, …]`, lowercase names, as an HTTP/1.1 reader gives them)
 * without the hop-by-hop ones and those its `Connection` fields name: what crosses to the client.
 */
export function endToEndFields(fields: readonly string[]): string[] {
  let connection: string | undefined
  for (let i = 0; i < fields.length; i += 2) if (fields[i] === 'connection') connection = connection === undefined ? fields[i + 1] : `${connection}, ${fields[i + 1]}`
  const named = namedByConnection(connection)
  const out: string[] = []
  for (let i = 0; i < fields.length; i += 2) {
    const name = fields[i]!
    if (!isHopByHop(name) && !named?.includes(name)) out.push(name, fields[i + 1]!)
  }
  return out
}
