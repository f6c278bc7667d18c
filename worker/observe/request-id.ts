/**
 * `x-request-id`: kept when the client sent a sane one, else a new one (CONTRACT §5).
 * @module
 */
import { randomHex } from './random-hex.ts'

export const REQUEST_ID_HEADER = 'x-request-id'
/** Ids end up in logs and upstream headers: refuse anything long or odd rather than echo it. */
const SANE_ID = /^[A-Za-z0-9._:\-]{1,128}$/

/** The request id to use: `incoming` when it looks like an id, else a fresh 128-bit hex one. */
export function requestId(incoming: string | null | undefined): string {
  return incoming && SANE_ID.test(incoming) ? incoming : randomHex(16)
}
