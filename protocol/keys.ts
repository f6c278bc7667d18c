/**
 * Key material: generating signing keys, and pinned trust sets (a JWKS matched by `kid`).
 * Only EdDSA (Ed25519) and ES256 (P-256) are accepted, in both directions.
 * @module
 */
import { exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose'
import { LegateError } from './errors.ts'

export type SigningAlg = 'EdDSA' | 'ES256'
export const SIGNING_ALGS: readonly SigningAlg[] = ['EdDSA', 'ES256']

/** Private JWK members: a trust file that carries one is refused, it would leak a secret. */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k']

/** The algorithm a JWK can verify or sign with, judged by its key type and curve. */
export function algOfJwk(jwk: JWK): SigningAlg | undefined {
  if (jwk.kty === 'OKP' && jwk.crv === 'Ed25519') return 'EdDSA'
  if (jwk.kty === 'EC' && jwk.crv === 'P-256') return 'ES256'
  return undefined
}

export interface GeneratedKey {
  privateJwk: JWK
  publicJwk: JWK
}

export async function generateSigningKey(kid: string, alg: SigningAlg = 'EdDSA'): Promise<GeneratedKey> {
  if (!SIGNING_ALGS.includes(alg)) throw new TypeError(`alg must be one of ${SIGNING_ALGS.join(', ')}`)
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true, crv: alg === 'EdDSA' ? 'Ed25519' : undefined })
  const common = { kid, alg, use: 'sig' }
  return {
    privateJwk: { ...(await exportJWK(privateKey)), ...common },
    publicJwk: { ...(await exportJWK(publicKey)), ...common },
  }
}

export interface TrustedKey {
  kid: string
  alg: SigningAlg
  key: CryptoKey
  jwk: JWK
}

/** A pinned set of public keys, imported once and looked up by `kid`. */
export interface TrustSet {
  readonly size: number
  get(kid: string): TrustedKey | undefined
  /** The public JWKS, for display and re-export. */
  readonly jwks: { keys: JWK[] }
}

/** Imports a JWKS (`{"keys": [...]}`); throws `malformed` for anything but public Ed25519/P-256 keys with a kid. */
export async function createTrustSet(jwks: unknown, source = 'trust file'): Promise<TrustSet> {
  const keys = (jwks as { keys?: unknown } | null)?.keys
  if (!Array.isArray(keys)) throw new LegateError('malformed', `${source} must be a JWKS: {"keys": [...]}`)
  const byKid = new Map<string, TrustedKey>()
  for (const [i, jwk] of (keys as JWK[]).entries()) {
    if (jwk === null || typeof jwk !== 'object') throw new LegateError('malformed', `${source}: keys[${i}] is not a JWK`)
    if (typeof jwk.kid !== 'string' || jwk.kid === '') throw new LegateError('malformed', `${source}: keys[${i}] has no kid`)
    if (PRIVATE_MEMBERS.some((m) => m in jwk)) throw new LegateError('malformed', `${source}: key "${jwk.kid}" is a private key; trust files hold public keys only`)
    const alg = algOfJwk(jwk)
    if (!alg) throw new LegateError('malformed', `${source}: key "${jwk.kid}" is not an Ed25519 (OKP) or P-256 (EC) key`)
    if (jwk.alg !== undefined && jwk.alg !== alg) throw new LegateError('malformed', `${source}: key "${jwk.kid}" says alg ${jwk.alg} but is a ${alg} key`)
    if (byKid.has(jwk.kid)) throw new LegateError('malformed', `${source}: kid "${jwk.kid}" appears twice`)
    let key: CryptoKey
    try {
      key = (await importJWK({ ...jwk, ext: true }, alg)) as CryptoKey
    } catch (err) {
      throw new LegateError('malformed', `${source}: key "${jwk.kid}" cannot be imported: ${(err as Error).message}`)
    }
    byKid.set(jwk.kid, { kid: jwk.kid, alg, key, jwk })
  }
  const publicKeys = [...byKid.values()].map((k) => k.jwk)
  return { size: byKid.size, get: (kid) => byKid.get(kid), jwks: { keys: publicKeys } }
}

/** Imports a private JWK for signing; throws `malformed` when it is not one. */
export async function importSigningKey(jwk: unknown, source = 'key file'): Promise<{ kid: string; alg: SigningAlg; key: CryptoKey }> {
  const k = jwk as JWK | null
  if (k === null || typeof k !== 'object' || typeof k.d !== 'string') throw new LegateError('malformed', `${source} is not a private JWK`)
  const alg = algOfJwk(k)
  if (!alg) throw new LegateError('malformed', `${source} is not an Ed25519 or P-256 key`)
  if (typeof k.kid !== 'string' || k.kid === '') throw new LegateError('malformed', `${source} has no kid`)
  try {
    return { kid: k.kid, alg, key: (await importJWK(k, alg)) as CryptoKey }
  } catch (err) {
    throw new LegateError('malformed', `${source} cannot be imported: ${(err as Error).message}`)
  }
}
