/**
 * The one small interface every shared rate-limit store implements (Redis on Node and
 * Deno, a Durable Object on workerd), and the guard that turns a slow or broken store
 * into the policy's failure mode instead of a stuck request.
 * @module
 */
import type { BucketLimit, BucketResult } from './token-bucket.ts'

export interface GlobalLimiter {
  /** The backend's name, for metrics and logs ("redis", "durable-object"). */
  readonly name: string
  /** How long a take may wait for the store before the policy's failure mode answers (default 50 ms). */
  readonly timeoutMs?: number
  /** Takes one token from the shared bucket `key`; rejects when the store cannot answer. */
  take(key: string, limit: BucketLimit): Promise<BucketResult>
}

/** Rejects with a TimeoutError when `promise` has not settled within `ms`. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DOMException(`${what} did not answer within ${ms} ms`, 'TimeoutError')), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}
