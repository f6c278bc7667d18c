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

/** True for a lowercase header name that must not cross the proxy. */
export const isHopByHop = (lowerName: string): boolean => HOP_BY_HOP.has(lowerName) || lowerName.startsWith('proxy-')

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
