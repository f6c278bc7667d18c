/**
 * Signs a config document (CONTRACT §2): validates it first, so nothing invalid is ever
 * signed, then wraps the document as written in a compact JWS.
 * @module
 */
import { CompactSign, type CryptoKey } from 'jose'
import { parseMeshConfig } from '../validate.ts'
import type { SigningAlg } from '../keys.ts'
import { CONFIG_TYP, type ConfigClaims } from './claims.ts'
import type { MeshConfigInput } from '../schema.ts'

export interface SignConfigOptions {
  key: CryptoKey
  kid: string
  alg: SigningAlg
  /** Version, strictly increasing per mesh (default: the current time in ms). */
  ver?: number
  /** Lifetime in seconds (default 30 days). */
  ttlSeconds?: number
  /** Publisher name (default: the kid). */
  iss?: string
  /** The current time in ms (tests). */
  now?: number
}

const encoder = new TextEncoder()

export async function signConfig(document: unknown, options: SignConfigOptions): Promise<string> {
  const config = parseMeshConfig(document)
  const now = options.now ?? Date.now()
  const ver = options.ver ?? now
  if (!Number.isSafeInteger(ver) || ver < 1) throw new TypeError('ver must be an integer ≥ 1')
  const ttl = options.ttlSeconds ?? 30 * 24 * 3600
  if (!(ttl > 0)) throw new TypeError('ttlSeconds must be positive')
  const iat = Math.floor(now / 1000)
  const claims: ConfigClaims = {
    iss: options.iss ?? options.kid,
    aud: config.mesh,
    iat,
    exp: iat + Math.floor(ttl),
    ver,
    config: document as MeshConfigInput,
  }
  return new CompactSign(encoder.encode(JSON.stringify(claims)))
    .setProtectedHeader({ alg: options.alg, typ: CONFIG_TYP, kid: options.kid })
    .sign(options.key)
}
