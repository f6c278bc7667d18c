/**
 * What ring-hash hashes on (`hashKey`: client-ip | header:<name> | cookie:<name>).
 * A request without the key gets `undefined`, and the balancer spreads it at random
 * rather than piling every key-less request on one endpoint.
 * @module
 */
import type { HeaderReader } from '../platform.ts'

export type HashKeyOf = (headers: HeaderReader, clientIp: string | undefined) => string | undefined

export function compileHashKey(spec: string): HashKeyOf {
  if (spec === 'client-ip') return (_headers, clientIp) => clientIp || undefined
  const colon = spec.indexOf(':')
  const kind = spec.slice(0, colon)
  const name = spec.slice(colon + 1)
  if (kind === 'header') {
    const header = name.toLowerCase()
    return (headers) => headers.get(header) ?? undefined
  }
  if (kind === 'cookie') return (headers) => cookieValue(headers.get('cookie'), name)
  throw new TypeError(`unknown hashKey "${spec}"`)
}

function cookieValue(header: string | null, name: string): string | undefined {
  if (!header) return undefined
  for (const part of header.split(';')) {
    const eq = part.indexOf('=')
    if (eq < 0) continue
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim()
  }
  return undefined
}
