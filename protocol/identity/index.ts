/** Mesh identity between ambassadors: tokens minted per destination, verified against the config. @module */
export { IDENTITY_TYP, IDENTITY_HEADER, SOURCE_HEADER, MAX_IDENTITY_TTL_SECONDS, MAX_IDENTITY_TOKEN_BYTES } from './claims.ts'
export type { IdentityClaims, VerifiedIdentity } from './claims.ts'
export { createIdentityMinter } from './mint.ts'
export type { IdentityMinter, IdentityMinterOptions } from './mint.ts'
export { createIdentityVerifier } from './verify.ts'
export type { IdentityVerifier, IdentityVerifierOptions, IdentityKeyOwner } from './verify.ts'
