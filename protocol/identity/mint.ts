/**
 * Mints identity tokens for outbound requests (CONTRACT §5): one token per destination,
 * cached and renewed ahead of its expiry, so a busy ambassador signs a few times per
 * destination per token lifetime, never once per request.
 * @module
 */
import { CompactSign } from 'jose'
import { LegateError } from '../errors.ts'
import type { SigningAlg } from '../keys.ts'
import { IDENTITY_TYP, MAX_IDENTITY_TTL_SECONDS, type IdentityClaims } from './claims.ts'
import type { CryptoKey } from 'jose'

export interface IdentityMinterOptions {
  /** This ambassador's service: `iss` and `sub` of every token. */
  service: string
  /** The workload private key (from `legate keygen`, imported with `importSigningKey`). */
  key: { kid: string; alg: SigningAlg; key: CryptoKey }
  /** Token lifetime in seconds (default and maximum 300). */
  ttlSeconds?: number
  /** Renew this many seconds before expiry (default a third of the lifetime). */
  renewBeforeSeconds?: number
  /** Destinations remembered at once (default 10 000); the oldest is forgotten beyond it. */
  maxDestinations?: number
  /** The current time in ms (tests). */
  now?: () => number
}

export interface IdentityMinter {
  readonly service: string
  readonly kid: string
  /** A token for `destination`: cached until it is due for renewal. */
  token(destination: string): Promise<string>
  /** How many signatures were made so far (tests and metrics). */
  readonly signatures: number
}

interface Entry {
  token: Promise<string>
  renewAt: number
}

const encoder = new TextEncoder()

export function createIdentityMinter(options: IdentityMinterOptions): IdentityMinter {
  const { service, key } = options
  // CONTRACT §5 names EdDSA alone for identity tokens; a P-256 workload key is a setup mistake.
  if (key.alg !== 'EdDSA') throw new LegateError('bad_alg', `identity tokens are EdDSA; workload key "${key.kid}" is ${key.alg}`)
  const ttl = options.ttlSeconds ?? MAX_IDENTITY_TTL_SECONDS
  if (!(ttl > 0 && ttl <= MAX_IDENTITY_TTL_SECONDS)) throw new TypeError(`ttlSeconds must be within 1..${MAX_IDENTITY_TTL_SECONDS}`)
  const renewBefore = options.renewBeforeSeconds ?? Math.floor(ttl / 3)
  if (!(renewBefore >= 0 && renewBefore < ttl)) throw new TypeError('renewBeforeSeconds must be at least 0 and less than ttlSeconds')
  const maxDestinations = options.maxDestinations ?? 10_000
  const now = options.now ?? Date.now
  const cache = new Map<string, Entry>()
  let signatures = 0

  async function sign(destination: string, iat: number): Promise<string> {
    signatures++
    const claims: IdentityClaims = { iss: service, sub: service, aud: destination, iat, exp: iat + ttl }
    return new CompactSign(encoder.encode(JSON.stringify(claims))).setProtectedHeader({ alg: 'EdDSA', typ: IDENTITY_TYP, kid: key.kid }).sign(key.key)
  }

  return {
    service,
    kid: key.kid,
    get signatures() {
      return signatures
    },
    token(destination) {
      const t = now()
      const hit = cache.get(destination)
      if (hit && t < hit.renewAt) return hit.token
      const iat = Math.floor(t / 1000)
      const token = sign(destination, iat)
      // Concurrent callers share the one pending signature; a failed one is not cached.
      token.catch(() => cache.get(destination)?.token === token && cache.delete(destination))
      cache.delete(destination)
      if (cache.size >= maxDestinations) cache.delete(cache.keys().next().value as string)
      cache.set(destination, { token, renewAt: (iat + ttl - renewBefore) * 1000 })
      return token
    },
  }
}
