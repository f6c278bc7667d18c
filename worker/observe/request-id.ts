/**
 * `x-request-id`: kept when the client sent a sane one, else a new one (CONTRACT §5).
 * @module
 */
import { randomHex } from './random-hex.ts'

export const REQUEST_ID_HEADER = 'x-request-id'
/**
 * A client's id is kept (CONTRACT §5) when it is one token of visible ASCII up to 256
 * characters (UUIDs, hex, base64 ids alike); anything longer or with spaces or control
 * characters is replaced, so ids stay greppable and bounded in logs and upstream headers.
 */
const SANE_ID = /^[\x21-\x7e]{1,256}$/

/** The request id to use: `incoming` when it looks like an id, else a fresh 128-bit hex one. */
export function requestId(incoming: string | null | undefined): string {
  return incoming && SANE_ID.test(incoming) ? incoming : randomHex(16)
}
