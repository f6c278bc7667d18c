/**
 * legate's protocol: the mesh config schema and the signed envelope. Web standards only,
 * so it runs unchanged on Node, Bun, Deno and workerd.
 * @module
 */
export { LegateError, isLegateError } from './errors.ts'
export type { LegateErrorCode, ConfigErrorCode, LocalReplyCode, ConfigIssue } from './errors.ts'
export { parseDuration, formatDuration, isDuration } from './duration.ts'
export { parseIp, parseCidr, cidrContains } from './cidr.ts'
export type { Cidr, IpAddress } from './cidr.ts'
export { meshConfigSchema, NAME_RE } from './schema.ts'
export type { MeshConfig, MeshConfigInput, ServiceConfig, RouteConfig, RouteRule, RouteMatch, RouteFilter, AuthorizationPolicy, RateLimitPolicy } from './schema.ts'
export { parseMeshConfig, checkMeshConfig, formatPath } from './validate.ts'
export { parseConfigText } from './config-text.ts'
export { meshJsonSchema } from './json-schema.ts'
export { configDigest } from './digest.ts'
export { generateSigningKey, createTrustSet, importSigningKey, algOfJwk, SIGNING_ALGS } from './keys.ts'
export type { SigningAlg, TrustSet, TrustedKey, GeneratedKey } from './keys.ts'
export { signConfig } from './envelope/sign.ts'
export type { SignConfigOptions } from './envelope/sign.ts'
export { verifyConfig } from './envelope/verify.ts'
export type { VerifyConfigOptions } from './envelope/verify.ts'
export { CONFIG_TYP, DEFAULT_MAX_CONFIG_BYTES, summarize } from './envelope/claims.ts'
export type { ConfigClaims, VerifiedConfig } from './envelope/claims.ts'
