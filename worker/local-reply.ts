/**
 * Local replies: the answers the ambassador gives itself, as JSON
 * `{"error": code, "message": ...}` with the CONTRACT §5 status for each code.
 * @module
 */
import { LegateError, type LocalReplyCode } from '../protocol/errors.ts'

export const LOCAL_REPLY_STATUS: Record<LocalReplyCode, number> = {
  no_route: 404,
  unauthenticated: 401,
  forbidden: 403,
  rate_limited: 429,
  not_ready: 503,
  no_healthy_upstream: 503,
  circuit_open: 503,
  upstream_unavailable: 502,
  upstream_timeout: 504,
  request_too_large: 413,
  header_limit: 431,
  bad_request: 400,
}

export const isLocalReplyCode = (code: string): code is LocalReplyCode => code in LOCAL_REPLY_STATUS

/** The JSON response for a local reply; `headers` adds e.g. Retry-After. */
export function localReply(code: LocalReplyCode, message: string, headers?: Record<string, string>): Response {
  return new Response(JSON.stringify({ error: code, message }), {
    status: LOCAL_REPLY_STATUS[code],
    headers: { 'content-type': 'application/json', ...headers },
  })
}

/** A local reply from a thrown error: its code when it is a local-reply code, else 502. */
export function localReplyFor(err: unknown): { code: LocalReplyCode; response: Response } {
  const code: LocalReplyCode = err instanceof LegateError && isLocalReplyCode(err.code) ? err.code : 'upstream_unavailable'
  const message = err instanceof Error ? err.message : String(err)
  return { code, response: localReply(code, message) }
}
