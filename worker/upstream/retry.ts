/**
 * The retry policy of a route rule (`retry`): what a failed try looks like, whether it may
 * be retried, and how long to wait first. A try is retried on a listed status code, a
 * failed connect, a reset connection, or its own per-try timeout (`backendRequest`); never
 * after the client went away or the overall `request` timeout passed.
 * @module
 */

export interface RetryPolicy {
  /** Retries after the first try (Gateway API `attempts`). */
  attempts: number
  codes: ReadonlySet<number>
  /** gRPC status codes retried when the response head carries them (trailers-only answers). */
  grpcCodes?: ReadonlySet<number>
  /** Base of the exponential backoff, in ms. */
  backoff: number
}

/** How a try ended, as retries and outlier detection see it. */
export type TryOutcome =
  | { kind: 'response'; status: number; grpcStatus?: number }
  /** The connection could not be made: nothing reached the endpoint. */
  | { kind: 'connect' }
  /** The connection broke before the response headers. */
  | { kind: 'reset' }
  /** The per-try timeout (`backendRequest`) fired. */
  | { kind: 'timeout' }
  /** The client aborted or the overall `request` timeout fired: stop at once. */
  | { kind: 'aborted' }

/** Whether the outcome counts against the endpoint for outlier detection. */
export const isEndpointFailure = (o: TryOutcome): boolean => (o.kind === 'response' ? o.status >= 500 : o.kind !== 'aborted')

export function isRetryable(o: TryOutcome, policy: RetryPolicy): boolean {
  switch (o.kind) {
    case 'response':
      return policy.codes.has(o.status) || (o.grpcStatus !== undefined && policy.grpcCodes?.has(o.grpcStatus) === true)
    case 'aborted':
      return false
    default:
      return true
  }
}

/** Envoy caps the backoff at ten times its base; so do we. */
const MAX_BACKOFF_FACTOR = 10

/**
 * Exponential backoff with full jitter (AWS architecture blog, and Envoy's): the n-th
 * retry (from 0) waits a uniform time in [0, min(base × 2^n, 10 × base)). Full jitter
 * spreads the retries of many clients that failed together, so they do not return as one.
 */
export function backoffDelay(retryIndex: number, base: number, random: () => number = Math.random): number {
  const ceiling = Math.min(base * 2 ** retryIndex, base * MAX_BACKOFF_FACTOR)
  return Math.floor(random() * ceiling)
}

/** Error codes a fetch implementation attaches when no connection could be made. */
const CONNECT_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
  'UND_ERR_CONNECT_TIMEOUT',
])

/**
 * Classifies what a fetch threw. Runtimes put the socket error under `cause` (undici:
 * `TypeError('fetch failed')` with `cause.code`); anything that is neither a connect
 * failure nor an abort is treated as a reset, since the request may have gone out.
 */
export function classifyError(err: unknown, signals: { tryTimedOut: boolean; stopped: boolean }): TryOutcome {
  if (signals.stopped) return { kind: 'aborted' }
  if (signals.tryTimedOut) return { kind: 'timeout' }
  let e: unknown = err
  for (let depth = 0; depth < 4 && e !== null && typeof e === 'object'; depth++) {
    const code = (e as { code?: unknown }).code
    if (typeof code === 'string' && CONNECT_CODES.has(code)) return { kind: 'connect' }
    e = (e as { cause?: unknown }).cause
  }
  return { kind: 'reset' }
}
