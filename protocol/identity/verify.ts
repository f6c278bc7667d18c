/**
 * Verifies identity tokens against the workload keys of the CURRENT config (CONTRACT §5).
 * Build one verifier per config version: a key removed by a new version is then unknown
 * the moment that version applies, and the token cache goes with the old verifier.
 * Keys are imported on first use, so a mesh of thousands of services costs nothing up
 * front; a verified token is remembered until its `exp`, so a hot caller pays one
 * signature check per token lifetime, not one per request.
 * @module
 */
import { importJWK, type CryptoKey, type JWK } from 'jose'
import { LegateError } from '../errors.ts'
import { algOfJwk } from '../keys.ts'
import { checkTimes, requireString, verifyCompact, type VerifyKey } from '../internal/compact-jws.ts'
import { IDENTITY_TYP, MAX_IDENTITY_TOKEN_BYTES, MAX_IDENTITY_TTL_SECONDS, type VerifiedIdentity } from './claims.ts'

/** The part of a service's config the verifier reads. */
export interface IdentityKeyOwner {
  name: string
  identity?: { keys: ReadonlyArray<{ kid: string } & Record<string, unknown>> } | undefined
}

export interface IdentityVerifierOptions {
  /** Seconds of clock skew forgiven on `exp`, `nbf` and `iat` (default 30, at most 60). */
  clockToleranceSeconds?: number
  /** Verified tokens remembered at once (default 10 000). */
  maxCachedTokens?: number
  /** The current time in ms (tests). */
  now?: () => number
}

export interface IdentityVerifier {
  /** The source identity a token proves for `audience` (this service), or a LegateError. */
  verify(token: string, audience: string): Promise<VerifiedIdentity>
  /** Signature checks made so far (tests and metrics). */
  readonly signatureChecks: number
}

interface KeyEntry {
  service: string
  jwk: JWK
  imported?: Promise<VerifyKey | string>
}

interface Cached extends VerifiedIdentity {
  aud: string
}

const WHAT = 'identity token'
/** Refused tokens remembered (by their text) so a replayed bad token costs no signature check. */
const MAX_REFUSED = 1024

export function createIdentityVerifier(services: readonly IdentityKeyOwner[], options: IdentityVerifierOptions = {}): IdentityVerifier {
  const tolerance = options.clockToleranceSeconds ?? 30
  if (!(tolerance >= 0 && tolerance <= 60)) throw new TypeError('clockToleranceSeconds must be within 0..60')
  const maxCached = options.maxCachedTokens ?? 10_000
  const now = options.now ?? Date.now
  const byKid = new Map<string, KeyEntry>()
  for (const s of services) for (const jwk of s.identity?.keys ?? []) byKid.set(jwk.kid, { service: s.name, jwk: jwk as JWK })
  const cache = new Map<string, Cached>()
  // Refusals that time cannot change (a bad signature, an unknown key, a malformed token):
  // the same bad token sent again is refused without another signature check.
  const refused = new Map<string, LegateError>()
  let signatureChecks = 0

  function importKey(entry: KeyEntry, kid: string): Promise<VerifyKey | string> {
    entry.imported ??= (async () => {
      const alg = algOfJwk(entry.jwk)
      if (alg !== 'EdDSA') return `key "${kid}" of service "${entry.service}" is not an Ed25519 key; identity tokens are EdDSA`
      try {
        const { d: _private, ...pub } = entry.jwk
        return { alg, key: (await importJWK({ ...pub, ext: true }, alg)) as CryptoKey }
      } catch (err) {
        return `key "${kid}" of service "${entry.service}" cannot be imported: ${(err as Error).message}`
      }
    })()
    return entry.imported
  }

  function accept(c: Cached, audience: string, nowSeconds: number): VerifiedIdentity {
    if (nowSeconds - tolerance >= c.exp) throw new LegateError('expired', `${WHAT} expired at ${new Date(c.exp * 1000).toISOString()}`)
    if (c.aud !== audience) throw new LegateError('bad_claim', `${WHAT} is for service "${c.aud}", not "${audience}"`)
    return { service: c.service, kid: c.kid, exp: c.exp }
  }

  return {
    get signatureChecks() {
      return signatureChecks
    },
    async verify(token, audience) {
      const nowSeconds = Math.floor(now() / 1000)
      const hit = cache.get(token)
      if (hit) return accept(hit, audience, nowSeconds)
      const known = refused.get(token)
      if (known) throw known
      let verified: Cached
      try {
        verified = await verifyNew(token, nowSeconds)
      } catch (err) {
        if (err instanceof LegateError && err.code !== 'expired' && err.code !== 'not_yet_valid' && token.length <= MAX_IDENTITY_TOKEN_BYTES) {
          if (refused.size >= MAX_REFUSED) refused.delete(refused.keys().next().value as string)
          refused.set(token, err)
        }
        throw err
      }
      // The audience is checked outside: a token sent to the wrong service is refused there,
      // and still good for its own.
      return accept(verified, audience, nowSeconds)
    },
  }

  /** Every check that does not depend on the audience; a token that passes them is cached. */
  async function verifyNew(token: string, nowSeconds: number): Promise<Cached> {
    // The kid is read from the header before any signature work; the key is resolved
    // up front (asynchronously) so verifyCompact's synchronous lookup can use it.
    const kid = kidOf(token)
    const entry = kid === undefined ? undefined : byKid.get(kid)
    const resolved = entry && kid !== undefined ? await importKey(entry, kid) : undefined
    signatureChecks++
    const { header, payload } = await verifyCompact(token, {
      what: WHAT,
      maxBytes: MAX_IDENTITY_TOKEN_BYTES,
      algs: ['EdDSA'],
      typ: IDENTITY_TYP,
      keyFor: (k) => (k === kid && resolved !== undefined ? resolved : `${WHAT} key "${k}" is not a workload key of any service in the current config`),
    })
    const iss = requireString(payload, 'iss', WHAT)
    const sub = requireString(payload, 'sub', WHAT)
    const aud = requireString(payload, 'aud', WHAT)
    const owner = byKid.get(header.kid)!.service
    // A key speaks for its own service only: otherwise any workload key could claim any name.
    if (iss !== owner) throw new LegateError('untrusted_key', `${WHAT} claims service "${iss}" but key "${header.kid}" belongs to "${owner}"`)
    if (sub !== iss) throw new LegateError('bad_claim', `${WHAT} "sub" (${sub}) differs from "iss" (${iss})`)
    checkTimes(payload, WHAT, nowSeconds, tolerance, true)
    const { iat, exp } = payload as { iat: number; exp: number }
    if (exp - iat > MAX_IDENTITY_TTL_SECONDS) throw new LegateError('bad_claim', `${WHAT} lives ${exp - iat} s; at most ${MAX_IDENTITY_TTL_SECONDS} s is allowed`)

    const verified: Cached = { service: iss, kid: header.kid, exp, aud }
    if (cache.size >= maxCached) evictExpiredOrOldest(cache, nowSeconds - tolerance)
    cache.set(token, verified)
    return verified
  }
}

/** The `kid` of a compact JWS header, or undefined when there is none to read (verifyCompact then says why). */
function kidOf(token: string): string | undefined {
  const dot = token.indexOf('.')
  if (dot <= 0 || dot > 1024) return undefined
  try {
    const header = JSON.parse(atob(token.slice(0, dot).replace(/-/g, '+').replace(/_/g, '/'))) as unknown
    const kid = (header as { kid?: unknown } | null)?.kid
    return typeof kid === 'string' ? kid : undefined
  } catch {
    return undefined
  }
}

/** Frees room: every expired entry found in a bounded sweep of the oldest, else the oldest one. */
function evictExpiredOrOldest(cache: Map<string, Cached>, cutoff: number) {
  const before = cache.size
  let swept = 0
  for (const [token, c] of cache) {
    if (++swept > 64) break
    if (c.exp <= cutoff) cache.delete(token)
  }
  if (cache.size < before) return
  const oldest = cache.keys().next()
  if (!oldest.done) cache.delete(oldest.value)
}
