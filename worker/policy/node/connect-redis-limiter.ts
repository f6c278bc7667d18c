/**
 * Node (and Deno) only: a Redis-backed global limiter from a `redis://` URL
 * (`--ratelimit-store`). The client fails fast while Redis is down (no offline queue, no
 * per-request retries), so requests are not held: the policy's failure mode answers.
 * @module
 */
import { Redis } from 'ioredis'
import { createRedisLimiter } from '../redis-limiter.ts'
import type { GlobalLimiter } from '../global-limiter.ts'

export interface ConnectedLimiter extends GlobalLimiter {
  close(): Promise<void>
}

export function connectRedisLimiter(url: string, options: { prefix?: string; connectTimeoutMs?: number; timeoutMs?: number } = {}): ConnectedLimiter {
  const client = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: options.connectTimeoutMs ?? 1000,
    // Keep reconnecting in the background, at most every 2 s, so the store comes back by itself.
    retryStrategy: (attempt) => Math.min(100 * attempt, 2000),
    lazyConnect: false,
  })
  // Errors surface per call (and then the failure mode applies); an unhandled 'error' event would crash.
  client.on('error', () => {})
  const limiter = createRedisLimiter({ client, ...(options.prefix === undefined ? {} : { prefix: options.prefix }), ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }) })
  return {
    name: limiter.name,
    ...(limiter.timeoutMs === undefined ? {} : { timeoutMs: limiter.timeoutMs }),
    take: limiter.take,
    async close() {
      client.disconnect()
    },
  }
}
