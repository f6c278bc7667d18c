/**
 * The checks every signed token of legate shares (configs and identity tokens): a size cap
 * before any decoding, compact form only, an alg allow-list, an exact `typ`, a pinned key
 * chosen by `kid` whose type matches the alg, then the signature, then the claim times.
 * @internal
 */
import { compactVerify, decodeProtectedHeader, errors, type CryptoKey } from 'jose'
import { LegateError } from '../errors.ts'
import type { SigningAlg } from '../keys.ts'
import { decodeBase64url, isBase64urlLength } from './base64url.ts'

// The signature part may be empty: an `alg: none` token then reaches the alg check and is
// refused as bad_alg (and an emptied signature as bad_signature), not as a vague malformed.
const COMPACT_RE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/
const decoder = new TextDecoder('utf-8', { fatal: true })
const encoder = new TextEncoder()
/** Header members that would let a token name its own key: only pinned keys count. */
const EMBEDDED_KEY_MEMBERS = ['jwk', 'jku', 'x5u', 'x5c']

export interface VerifyKey {
  alg: SigningAlg
  key: CryptoKey
}

export interface CompactCheck {
  /** What is being verified, for messages ("config", "identity token"). */
  what: string
  maxBytes: number
  algs: readonly SigningAlg[]
  typ: string
  /** Finds the pinned key for a kid, or says why there is none. */
  keyFor: (kid: string) => VerifyKey | string
}

export interface VerifiedCompact {
  header: { alg: SigningAlg; kid: string; typ: string }
  payload: Record<string, unknown>
}

export async function verifyCompact(token: unknown, check: CompactCheck): Promise<VerifiedCompact> {
  const { what } = check
  if (typeof token !== 'string') throw new LegateError('malformed', `${what} is not a string`)
  // Length in UTF-16 units bounds the UTF-8 size from below; a compact JWS is ASCII, so
  // anything longer than the cap is refused without looking further.
  if (token.length > check.maxBytes) throw new LegateError('too_large', `${what} is ${token.length} bytes, over the ${check.maxBytes}-byte limit`)
  const text = token.trim()
  if (text.startsWith('{')) throw new LegateError('malformed', `${what} is a JWS JSON serialization; only the compact form is accepted`)
  if (!COMPACT_RE.test(text)) throw new LegateError('malformed', `${what} is not a compact JWS (three base64url parts separated by dots)`)

  let header: Record<string, unknown>
  try {
    header = decodeProtectedHeader(text) as Record<string, unknown>
  } catch {
    throw new LegateError('malformed', `${what} has an unreadable protected header`)
  }
  const alg = header.alg
  if (typeof alg !== 'string' || !(check.algs as readonly string[]).includes(alg)) {
    throw new LegateError('bad_alg', `${what} alg ${JSON.stringify(alg)} is not allowed (allowed: ${check.algs.join(', ')})`)
  }
  const typ = typeof header.typ === 'string' ? header.typ.toLowerCase().replace(/^application\//, '') : undefined
  if (typ !== check.typ) throw new LegateError('bad_typ', `${what} typ ${JSON.stringify(header.typ)} is not "${check.typ}"`)
  for (const member of EMBEDDED_KEY_MEMBERS) {
    if (member in header) throw new LegateError('untrusted_key', `${what} header carries "${member}"; only pinned keys are trusted`)
  }
  const kid = header.kid
  if (typeof kid !== 'string' || kid === '') throw new LegateError('untrusted_key', `${what} header has no kid, so no pinned key can be chosen`)
  const found = check.keyFor(kid)
  if (typeof found === 'string') throw new LegateError('untrusted_key', found)
  if (found.alg !== alg) throw new LegateError('bad_alg', `${what} says alg ${alg} but key "${kid}" is a ${found.alg} key`)

  const payloadBytes = (await verifyDirect(text, header, alg as SigningAlg, found.key, what, kid)) ?? (await verifyWithJose(text, alg, found.key, what, kid))
  let payload: unknown
  try {
    payload = JSON.parse(decoder.decode(payloadBytes))
  } catch {
    throw new LegateError('malformed', `${what} payload is not JSON`)
  }
  if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) throw new LegateError('malformed', `${what} payload is not a JSON object`)
  return { header: { alg: alg as SigningAlg, kid, typ: check.typ }, payload: payload as Record<string, unknown> }
}

/** What WebCrypto calls each signing alg, and what a key for it must say. */
const WEBCRYPTO: Record<SigningAlg, { verify: AlgorithmIdentifier | EcdsaParams; name: string; curve?: string }> = {
  EdDSA: { verify: { name: 'Ed25519' }, name: 'Ed25519' },
  ES256: { verify: { name: 'ECDSA', hash: 'SHA-256' }, name: 'ECDSA', curve: 'P-256' },
}

/**
 * The signature checked with WebCrypto directly; resolves to the payload bytes, or to
 * undefined for a token it leaves to jose. jose decodes and copies the whole token several
 * times (about 10 ms for a 2.4 MB config); the usual token needs one decode of each part.
 * Whatever is unusual (a `crit` or `b64` header member, a part whose length is not
 * base64url, a key WebCrypto would not take for this alg) goes to jose, which refuses it
 * with the same error as before.
 */
async function verifyDirect(text: string, header: Record<string, unknown>, alg: SigningAlg, key: CryptoKey, what: string, kid: string): Promise<Uint8Array | undefined> {
  if ('crit' in header || 'b64' in header) return undefined
  const web = WEBCRYPTO[alg]
  const algorithm = key.algorithm as { name: string; namedCurve?: string }
  if (key.type !== 'public' || algorithm.name !== web.name || algorithm.namedCurve !== web.curve || !key.usages.includes('verify')) return undefined
  const firstDot = text.indexOf('.')
  const lastDot = text.lastIndexOf('.')
  const payloadText = text.slice(firstDot + 1, lastDot)
  const signatureText = text.slice(lastDot + 1)
  if (!isBase64urlLength(payloadText) || !isBase64urlLength(signatureText)) return undefined
  // The signing input is the token up to the last dot; the form check above made it ASCII.
  const signingInput = encoder.encode(text.slice(0, lastDot))
  let valid = false
  try {
    valid = await crypto.subtle.verify(web.verify, key, decodeBase64url(signatureText), signingInput)
  } catch {
    // As jose: a signature WebCrypto cannot even read does not verify.
  }
  if (!valid) throw new LegateError('bad_signature', `${what} signature does not verify with key "${kid}"`)
  return decodeBase64url(payloadText)
}

async function verifyWithJose(text: string, alg: string, key: CryptoKey, what: string, kid: string): Promise<Uint8Array> {
  try {
    return (await compactVerify(text, key, { algorithms: [alg] })).payload
  } catch (err) {
    if (err instanceof errors.JWSSignatureVerificationFailed) throw new LegateError('bad_signature', `${what} signature does not verify with key "${kid}"`)
    if (err instanceof errors.JOSEAlgNotAllowed) throw new LegateError('bad_alg', `${what}: ${(err as Error).message}`)
    // The alg and key type were checked above, so what jose still cannot support here is an
    // unknown critical header extension (`crit`): a form problem, not an algorithm one.
    throw new LegateError('malformed', `${what}: ${(err as Error).message}`)
  }
}

/** JWT NumericDate claims, checked with a bounded clock tolerance. */
export function checkTimes(payload: Record<string, unknown>, what: string, nowSeconds: number, toleranceSeconds: number, requireExp: boolean) {
  for (const claim of ['iat', 'exp', 'nbf'] as const) {
    const v = payload[claim]
    if (v === undefined) {
      if (claim === 'iat' || (claim === 'exp' && requireExp)) throw new LegateError('missing_claim', `${what} has no "${claim}" claim`)
      continue
    }
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new LegateError('bad_claim', `${what} "${claim}" must be a NumericDate (seconds since the epoch)`)
  }
  const { iat, exp, nbf } = payload as { iat: number; exp?: number; nbf?: number }
  if (exp !== undefined && nowSeconds - toleranceSeconds >= exp) throw new LegateError('expired', `${what} expired at ${new Date(exp * 1000).toISOString()}`)
  if (nbf !== undefined && nowSeconds + toleranceSeconds < nbf) throw new LegateError('not_yet_valid', `${what} is not valid before ${new Date(nbf * 1000).toISOString()}`)
  if (nowSeconds + toleranceSeconds < iat) throw new LegateError('not_yet_valid', `${what} was issued in the future (${new Date(iat * 1000).toISOString()})`)
  if (exp !== undefined && exp <= iat) throw new LegateError('bad_claim', `${what} "exp" is not after "iat"`)
}

export function requireString(payload: Record<string, unknown>, claim: string, what: string): string {
  const v = payload[claim]
  if (v === undefined) throw new LegateError('missing_claim', `${what} has no "${claim}" claim`)
  if (typeof v !== 'string' || v === '') throw new LegateError('bad_claim', `${what} "${claim}" must be a non-empty string`)
  return v
}
