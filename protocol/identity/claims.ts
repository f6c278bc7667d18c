/** The identity token's header, claims and limits (CONTRACT §5). @module */

export const IDENTITY_TYP = 'legate-identity+jwt'
/** Where an ambassador puts its token on outbound requests; removed before the app sees it. */
export const IDENTITY_HEADER = 'legate-identity'
/** Set by inbound from a verified token only; any client-sent value is removed first. */
export const SOURCE_HEADER = 'x-legate-source'
/** CONTRACT §5: a token lives at most five minutes. */
export const MAX_IDENTITY_TTL_SECONDS = 300
/** A compact EdDSA token with these claims is about 300 bytes; anything far larger is not one. */
export const MAX_IDENTITY_TOKEN_BYTES = 4096

export interface IdentityClaims {
  /** The source service (equals `sub`). */
  iss: string
  sub: string
  /** The destination service. */
  aud: string
  iat: number
  exp: number
}

/** What a verified token says: who called, and until when that holds. */
export interface VerifiedIdentity {
  service: string
  kid: string
  /** Seconds since the epoch. */
  exp: number
}
