/**
 * Signing helpers for control tests: a publisher key pair, its trust set, and signed configs
 * (valid ones through `signConfig`, deliberately broken ones through jose directly).
 * @module
 */
import { CompactSign, type CryptoKey, type JWK } from 'jose'
import { createTrustSet, generateSigningKey, importSigningKey, signConfig, type SigningAlg, type TrustSet } from '../../protocol/index.ts'

export const meshDoc = (mesh = 'demo', service = 'echo') => ({ mesh, services: [{ name: service, endpoints: ['http://127.0.0.1:9001'] }] })

export interface Publisher {
  kid: string
  alg: SigningAlg
  key: CryptoKey
  trust: TrustSet
  jwks: { keys: JWK[] }
  privateJwk: JWK
  /** A valid signed config for `mesh` at version `ver`. */
  sign(ver: number, options?: { mesh?: string; now?: number; ttlSeconds?: number; service?: string }): Promise<string>
  /** Signs any header/claims as given: for refusals the protocol's own signer would not produce. */
  raw(claims: Record<string, unknown>, header?: Record<string, unknown>): Promise<string>
  /** Valid claims for `ver`, to break one at a time. */
  claims(ver: number, mesh?: string): Record<string, unknown>
}

const encoder = new TextEncoder()

export async function createPublisher(kid = 'ops', alg: SigningAlg = 'EdDSA'): Promise<Publisher> {
  const { privateJwk, publicJwk } = await generateSigningKey(kid, alg)
  const signing = await importSigningKey(privateJwk)
  const jwks = { keys: [publicJwk] }
  const trust = await createTrustSet(jwks)
  const now = () => Math.floor(Date.now() / 1000)
  return {
    kid,
    alg,
    key: signing.key,
    trust,
    jwks,
    privateJwk,
    sign: (ver, o = {}) => signConfig(meshDoc(o.mesh ?? 'demo', o.service), { ...signing, ver, now: o.now, ttlSeconds: o.ttlSeconds }),
    raw: (claims, header = {}) =>
      new CompactSign(encoder.encode(JSON.stringify(claims))).setProtectedHeader({ alg, typ: 'legate-config+jwt', kid, ...header } as never).sign(signing.key),
    claims: (ver, mesh = 'demo') => ({ iss: kid, aud: mesh, iat: now(), exp: now() + 3600, ver, config: meshDoc(mesh) }),
  }
}
