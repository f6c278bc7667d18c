/**
 * Key and token fixtures shared by tests: signing keys, trust sets, valid config claims,
 * and a way to sign ANY header and payload, so attack tests can craft exactly the token
 * they mean (jose's `CompactSign` refuses to sign many of them, and a verifier under test
 * must never be mocked to get there).
 * @module
 */
import { readFileSync } from 'node:fs'
import { createHmac } from 'node:crypto'
import { CompactSign, generateKeyPair, exportJWK, type CryptoKey, type JWK } from 'jose'
import { createTrustSet, generateSigningKey, importSigningKey, parseConfigText, CONFIG_TYP, type SigningAlg, type TrustSet } from '../../protocol/index.ts'

export interface TestKey {
  kid: string
  alg: SigningAlg
  key: CryptoKey
  privateJwk: JWK
  publicJwk: JWK
}

/** A fresh signing key, built the way `legate keygen` builds one. */
export async function makeKey(kid: string, alg: SigningAlg = 'EdDSA'): Promise<TestKey> {
  const { privateJwk, publicJwk } = await generateSigningKey(kid, alg)
  const { key } = await importSigningKey(privateJwk)
  return { kid, alg, key, privateJwk, publicJwk }
}

/** A pinned trust set holding the public halves of these keys. */
export const trustOf = (...keys: TestKey[]): Promise<TrustSet> => createTrustSet({ keys: keys.map((k) => k.publicJwk) })

const encoder = new TextEncoder()

export const b64url = (data: string | Uint8Array): string => Buffer.from(typeof data === 'string' ? encoder.encode(data) : data).toString('base64url')

/** `b64url(header).b64url(payload)`: the JWS signing input. A string payload is used as is (not JSON-encoded). */
export const signingInput = (header: object, payload: object | string): string =>
  `${b64url(JSON.stringify(header))}.${b64url(typeof payload === 'string' ? payload : JSON.stringify(payload))}`

/** Signs any header (which must name an alg the key can do) over any payload. */
export async function signWith(key: CryptoKey, header: Record<string, unknown> & { alg: string }, payload: object | string): Promise<string> {
  const bytes = encoder.encode(typeof payload === 'string' ? payload : JSON.stringify(payload))
  return new CompactSign(bytes).setProtectedHeader(header).sign(key)
}

/** HS256 over the signing input with `secret`: the classic "public key as HMAC secret" forgery. */
export function hmacToken(header: object, payload: object, secret: string | Uint8Array): string {
  const input = signingInput({ ...header, alg: 'HS256' }, payload)
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`
}

/** An RSA key, which legate never accepts; for RS256 attack tokens. */
export async function makeRsaKey(kid: string): Promise<{ kid: string; key: CryptoKey; publicJwk: JWK }> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true })
  return { kid, key: privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid } }
}

/** The config header of a key: what `signConfig` writes. */
export const configHeader = (k: Pick<TestKey, 'alg' | 'kid'>) => ({ alg: k.alg, typ: CONFIG_TYP, kid: k.kid })

/** examples/mesh.yaml as a plain document (mesh "demo"). */
export function exampleConfig(): Record<string, unknown> {
  const text = readFileSync(new URL('../../examples/mesh.yaml', import.meta.url), 'utf8')
  return parseConfigText(text, 'examples/mesh.yaml') as Record<string, unknown>
}

/** A small valid config: one service, one route. */
export const minimalConfig = (mesh = 'demo') => ({
  mesh,
  services: [{ name: 'echo', endpoints: ['http://127.0.0.1:9001'] }],
  routes: [{ name: 'echo', rules: [{ backendRefs: [{ name: 'echo' }] }] }],
})

/** Claims of a valid config at `now` (seconds): one hour old, valid for a day. */
export function validClaims(config: { mesh: string } = minimalConfig(), now = Math.floor(Date.now() / 1000)) {
  return { iss: 'ops', aud: config.mesh, iat: now - 3600, exp: now + 86_400, ver: 7, config } as Record<string, unknown>
}
