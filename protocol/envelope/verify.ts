/**
 * Verifies a signed config with pinned keys (CONTRACT §2). Checks run cheapest first and
 * each refusal has its own code: size, form, alg, typ, key, signature, claims, audience,
 * schema. Verify once per config version, never per request (about 150 µs for 10 KB).
 * @module
 */
import { LegateError } from '../errors.ts'
import type { TrustSet } from '../keys.ts'
import { parseMeshConfig, parseNextMeshConfig } from '../validate.ts'
import { configDigest } from '../digest.ts'
import { checkTimes, requireString, verifyCompact } from '../internal/compact-jws.ts'
import { CONFIG_TYP, DEFAULT_MAX_CONFIG_BYTES, MAX_CLOCK_TOLERANCE_SECONDS, type VerifiedConfig } from './claims.ts'
import { SIGNING_ALGS } from '../keys.ts'

export interface VerifyConfigOptions {
  trust: TrustSet
  /** The mesh this verifier serves; `aud` and `config.mesh` must equal it. Omitted: `aud` decides. */
  mesh?: string
  /** Size cap in bytes, applied before any decoding (default 1 MiB). */
  maxBytes?: number
  /** Seconds of clock skew forgiven on `exp`, `nbf` and `iat` (default 30, at most 60). */
  clockToleranceSeconds?: number
  /** The current time in ms (tests). */
  now?: number
  /** Accept a config past its `exp` (a restart serving its persisted last-known-good). */
  allowExpired?: boolean
  /**
   * For a verifier that applies version after version (an ambassador): the config this one
   * would replace, or `null` for none yet. Routes unchanged since it are not validated again
   * (see `parseNextMeshConfig`); omitted, every route is.
   */
  previous?: VerifiedConfig | null
}

const WHAT = 'config'

export async function verifyConfig(jws: unknown, options: VerifyConfigOptions): Promise<VerifiedConfig> {
  const tolerance = options.clockToleranceSeconds ?? 30
  if (tolerance < 0 || tolerance > MAX_CLOCK_TOLERANCE_SECONDS) throw new TypeError(`clockToleranceSeconds must be within 0..${MAX_CLOCK_TOLERANCE_SECONDS}`)
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_CONFIG_BYTES
  const { trust } = options

  const { header, payload } = await verifyCompact(jws, {
    what: WHAT,
    maxBytes,
    algs: SIGNING_ALGS,
    typ: CONFIG_TYP,
    keyFor: (kid) => trust.get(kid) ?? `config key "${kid}" is not in the trusted keys`,
  })

  const iss = requireString(payload, 'iss', WHAT)
  if (payload.aud === undefined) throw new LegateError('missing_claim', 'config has no "aud" claim')
  if (typeof payload.aud !== 'string' || payload.aud === '') throw new LegateError('bad_claim', 'config "aud" must be the mesh name, a single string')
  const aud = payload.aud
  let expired = false
  const now = Math.floor((options.now ?? Date.now()) / 1000)
  try {
    checkTimes(payload, WHAT, now, tolerance, true)
  } catch (err) {
    if (!(options.allowExpired && err instanceof LegateError && err.code === 'expired')) throw err
    expired = true
  }
  const ver = payload.ver
  if (ver === undefined) throw new LegateError('missing_claim', 'config has no "ver" claim')
  if (typeof ver !== 'number' || !Number.isSafeInteger(ver) || ver < 1) throw new LegateError('bad_claim', `config "ver" must be an integer ≥ 1, not ${JSON.stringify(ver)}`)
  if (payload.config === undefined) throw new LegateError('missing_claim', 'config has no "config" claim')
  if (payload.config === null || typeof payload.config !== 'object' || Array.isArray(payload.config)) throw new LegateError('bad_claim', 'config "config" claim must be an object')
  if (options.mesh !== undefined && aud !== options.mesh) throw new LegateError('wrong_mesh', `config is for mesh "${aud}", not "${options.mesh}"`)

  // The digest (hashing megabytes for a large mesh) runs while the schema is checked.
  const text = (jws as string).trim()
  const digest = configDigest(text)
  // With `previous`, routes unchanged since it are taken as parsed there; the payload is ours.
  const config = options.previous === undefined ? parseMeshConfig(payload.config) : parseNextMeshConfig(payload.config, options.previous?.config ?? null)
  if (config.mesh !== aud) throw new LegateError('wrong_mesh', `config document names mesh "${config.mesh}" but is signed for "${aud}"`)

  return {
    jws: text,
    digest: await digest,
    kid: header.kid,
    alg: header.alg,
    mesh: aud,
    iss,
    iat: payload.iat as number,
    exp: payload.exp as number,
    ver,
    config,
    expired,
  }
}
