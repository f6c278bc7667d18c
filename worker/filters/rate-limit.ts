/**
 * The rate limit stage: every policy that targets the request's service (and whose
 * `match` fits) takes a token from the caller's bucket; the first empty bucket answers
 * 429 `rate_limited` with `Retry-After`, `RateLimit-Policy` and `RateLimit`. Local buckets
 * survive config updates for policies whose name and limit did not change; `scope:
 * global` policies ask the shared store, and their failure mode decides when it cannot.
 *
 * @example
 * createChain({ ..., stages: { rateLimit: rateLimitStage({ global: redisLimiter }) } })
 * @module
 */
import type { Snapshot } from '../config/snapshot.ts'
import { localReply } from '../local-reply.ts'
import { compileRateLimits, type RateLimiter, type RateLimiterOptions, type RateLimitVerdict } from '../policy/rate-limiter.ts'
import type { StageFactory } from './chain.ts'

export interface RateLimitStageOptions extends Omit<RateLimiterOptions, 'previous'> {
  /** Told about every refusal (a per-policy counter). */
  onLimited?: (service: string, verdict: RateLimitVerdict) => void
}

export function rateLimitStage(options: RateLimitStageOptions = {}): StageFactory {
  const limiters = new WeakMap<Snapshot, RateLimiter>()
  let latest: RateLimiter | undefined
  return (snapshot, direction) => {
    if (direction === 'outbound') return undefined
    let limiter = limiters.get(snapshot)
    if (!limiter) {
      limiter = compileRateLimits(snapshot.verified.config.policies.rateLimits, { ...options, ...(latest ? { previous: latest } : {}) })
      limiters.set(snapshot, limiter)
      latest = limiter
    }
    if (limiter.size === 0) return undefined
    const l = limiter
    return async (ex, c) => {
      if (!ex.service) return undefined
      const verdict = await l.check(ex.service, {
        host: ex.host,
        path: ex.path,
        method: ex.method,
        headers: ex.headers,
        query: ex.query,
        source: ex.source,
        ip: ex.client || undefined,
      })
      if (verdict.allowed) return undefined
      options.onLimited?.(ex.service, verdict)
      ex.reason = 'rate_limited'
      return localReply('rate_limited', `rate limit "${verdict.policy}" exceeded`, verdict.headers)
    }
  }
}
