/**
 * One error class for every refusal legate makes, with a machine-readable `code`
 * (CONTRACT §2 and §5). Callers `switch (err.code)`; API misuse stays a plain TypeError.
 * @module
 */

/** Codes for a refused signed config (CONTRACT §2). */
export type ConfigErrorCode =
  | 'malformed'
  | 'too_large'
  | 'bad_alg'
  | 'bad_typ'
  | 'untrusted_key'
  | 'bad_signature'
  | 'wrong_mesh'
  | 'expired'
  | 'not_yet_valid'
  | 'missing_claim'
  | 'bad_claim'
  | 'invalid_config'
  | 'version_not_newer'

/** Codes of the ambassador's local replies (CONTRACT §5). */
export type LocalReplyCode =
  | 'no_route'
  | 'unauthenticated'
  | 'forbidden'
  | 'rate_limited'
  | 'not_ready'
  | 'no_healthy_upstream'
  | 'circuit_open'
  | 'upstream_unavailable'
  | 'upstream_timeout'
  // Listener answers the contract does not name (docs/contract.md):
  | 'request_too_large'
  | 'header_limit'
  | 'bad_request'

/** Codes for operational failures that are neither of the above (files, network, auth to control). */
export type OperationalErrorCode = 'io_error' | 'unreachable' | 'unauthorized' | 'not_found' | 'store_error'

export type LegateErrorCode = ConfigErrorCode | LocalReplyCode | OperationalErrorCode

/** One problem in a config document, located by its path (`routes[2].rules[0].backendRefs[0].name`). */
export interface ConfigIssue {
  path: string
  message: string
}

export interface LegateErrorOptions {
  issues?: ConfigIssue[]
  status?: number
  cause?: unknown
}

export class LegateError extends Error {
  override readonly name = 'LegateError'
  readonly code: LegateErrorCode
  readonly issues?: ConfigIssue[]
  readonly status?: number

  constructor(code: LegateErrorCode, message: string, options: LegateErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.code = code
    if (options.issues) this.issues = options.issues
    if (options.status !== undefined) this.status = options.status
  }

  /** The JSON body used by the control API and the ambassador's local replies. */
  toJSON(): { error: LegateErrorCode; message: string; issues?: ConfigIssue[] } {
    return this.issues
      ? { error: this.code, message: this.message, issues: this.issues }
      : { error: this.code, message: this.message }
  }
}

export const isLegateError = (err: unknown): err is LegateError => err instanceof LegateError
