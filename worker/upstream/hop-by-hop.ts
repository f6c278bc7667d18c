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

/**
 * True for a lowercase header name that must not cross the proxy. The names of HOP_BY_HOP
 * compared by length first: this runs for every request and response field, most of which
 * no hop-by-hop name has the length of, and a set lookup hashes the (fresh) name each time.
 */
export const isHopByHop = (lowerName: string): boolean => {
  switch (lowerName.length) {
    case 2:
      return lowerName === 'te'
    case 7:
      if (lowerName === 'trailer' || lowerName === 'upgrade') return true
      break
    case 10:
      if (lowerName === 'connection' || lowerName === 'keep-alive') return true
      break
    case 14:
      if (lowerName === 'http2-settings') return true
      break
    case 17:
      if (lowerName === 'transfer-encoding') return true
      break
  }
  return lowerName.startsWith('proxy-')
}

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
