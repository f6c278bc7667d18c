/** The signed config envelope's header and claims (CONTRACT §2). @module */
import type { MeshConfig, MeshConfigInput } from '../schema.ts'
import type { SigningAlg } from '../keys.ts'

export const CONFIG_TYP = 'legate-config+jwt'
/** 1 MiB: raise with `--max-config-bytes` / `LEGATE_MAX_CONFIG_BYTES` for very large meshes. */
export const DEFAULT_MAX_CONFIG_BYTES = 1024 * 1024
/** CONTRACT §2 caps the clock tolerance at 60 s. */
export const MAX_CLOCK_TOLERANCE_SECONDS = 60

export interface ConfigClaims {
  iss: string
  /** The mesh name; equals `config.mesh`. */
  aud: string
  iat: number
  exp: number
  nbf?: number
  /** Strictly increasing per mesh. */
  ver: number
  config: MeshConfigInput
}

/** A config that passed every check: what an ambassador or control may act on. */
export interface VerifiedConfig {
  jws: string
  /** `sha256:<hex>` of the JWS bytes. */
  digest: string
  kid: string
  alg: SigningAlg
  mesh: string
  iss: string
  iat: number
  exp: number
  ver: number
  /** The normalized config (defaults filled, durations in ms). */
  config: MeshConfig
  /** True when it was accepted past its `exp` because the caller allowed it. */
  expired: boolean
}

/** The `legate verify` summary (CONTRACT §3). */
export const summarize = (v: VerifiedConfig) => ({ mesh: v.mesh, ver: v.ver, iss: v.iss, iat: v.iat, exp: v.exp, kid: v.kid, digest: v.digest })
