/**
 * A global rate-limit store on Redis: one Lua script takes a token atomically, with the
 * clock of the Redis server (so ambassadors' clocks never disagree about a refill).
 * The script is sent once and then called by its SHA; a Redis that restarted and forgot
 * it gets it again. The client is any Redis client with `evalsha`/`eval` (ioredis on
 * Node); create it with a short connect timeout and no offline queue, so a Redis that is
 * down fails fast and the policy's failure mode applies (see `connectRedisLimiter`).
 * @module
 */
import type { GlobalLimiter } from './global-limiter.ts'
import type { BucketLimit, BucketResult } from './token-bucket.ts'

/** The calls the limiter makes; ioredis's client has them. */
export interface RedisEvalClient {
  evalsha(sha: string, numKeys: number, ...args: (string | number)[]): Promise<unknown>
  eval(script: string, numKeys: number, ...args: (string | number)[]): Promise<unknown>
}

export interface RedisLimiterOptions {
  client: RedisEvalClient
  /** Prefix of every bucket key (default `legate:rl:`). */
  prefix?: string
  /** How long a take may wait for Redis before the failure mode answers (default 50 ms). */
  timeoutMs?: number
}

// KEYS[1] bucket; ARGV capacity, requests, perMs. Returns {allowed, remaining, retryAfterMs, resetMs}.
// State is a hash {t: tokens, ts: ms}; fractions are kept as text, since Redis turns Lua
// numbers into integers on the way out. The key expires once the bucket would be full.
export const TOKEN_BUCKET_SCRIPT = `
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2]) / tonumber(ARGV[3])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + tonumber(time[2]) / 1000
local state = redis.call('HMGET', KEYS[1], 't', 'ts')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil or ts == nil then
  tokens = capacity
else
  local elapsed = now - ts
  if elapsed > 0 then tokens = math.min(capacity, tokens + elapsed * rate) end
end
local allowed = 0
local retry = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
else
  retry = math.ceil((1 - tokens) / rate)
end
local reset = math.ceil((capacity - tokens) / rate)
redis.call('HSET', KEYS[1], 't', string.format('%.6f', tokens), 'ts', string.format('%.3f', now))
redis.call('PEXPIRE', KEYS[1], reset + 1000)
return {allowed, math.floor(tokens), retry, reset}
`

export async function scriptSha(script: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-1', new TextEncoder().encode(script))
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('')
}

export function createRedisLimiter(options: RedisLimiterOptions): GlobalLimiter {
  const { client } = options
  const prefix = options.prefix ?? 'legate:rl:'
  const sha = scriptSha(TOKEN_BUCKET_SCRIPT)

  return {
    name: 'redis',
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    async take(key: string, limit: BucketLimit): Promise<BucketResult> {
      const args = [prefix + key, limit.burst ?? limit.requests, limit.requests, limit.perMs] as const
      let reply: unknown
      try {
        reply = await client.evalsha(await sha, 1, ...args)
      } catch (err) {
        if (!/NOSCRIPT/.test(String((err as Error)?.message))) throw err
        reply = await client.eval(TOKEN_BUCKET_SCRIPT, 1, ...args)
      }
      if (!Array.isArray(reply) || reply.length !== 4) throw new Error(`unexpected reply from the rate limit script: ${JSON.stringify(reply)}`)
      const [allowed, remaining, retryAfterMs, resetMs] = reply.map(Number) as [number, number, number, number]
      return { allowed: allowed === 1, remaining, retryAfterMs, resetMs }
    },
  }
}
