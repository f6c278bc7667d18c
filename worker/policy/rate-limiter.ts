/**
 * Rate limit policies compiled per config (CONTRACT §1): a token bucket per key
 * (`client-ip`, `source-service`, `header:<name>`, `global`) per policy, for the
 * policy's target services and optional HTTPRouteMatch. Local policies keep their
 * buckets in this process (bounded, LRU); `scope: global` ones take from a shared
 * store, and when the store fails or is slow the policy's `failureMode` decides.
 *
 * A request must be admitted by every policy that applies to it; the first refusal
 * answers (IETF RateLimit-Policy / RateLimit headers, Retry-After).
 * @module
 */
import type { RateLimitPolicy } from '../../protocol/schema.ts'
import type { RouteRequest } from '../route/types.ts'
import { createRegexCache } from '../route/conditions.ts'
import { compileRequestMatch, type RequestPredicate } from './request-match.ts'
import { createTokenBucketTable, DEFAULT_MAX_KEYS, type BucketLimit, type BucketResult, type TokenBucketTable } from './token-bucket.ts'
import { withTimeout, type GlobalLimiter } from './global-limiter.ts'

export interface RateLimitRequest extends RouteRequest {
  /** The verified source service, or undefined when unauthenticated. */
  source: string | undefined
  /** The client address as text, or undefined when the runtime cannot tell. */
  ip: string | undefined
}

export interface RateLimitVerdict {
  allowed: boolean
  /** The refusing policy (or, when allowed, undefined). */
  policy: string | undefined
  /** Headers for the 429: Retry-After, RateLimit-Policy, RateLimit. Empty when allowed. */
  headers: Record<string, string>
  /** Set when a global store failed and the failure mode decided. */
  storeFailure?: { policy: string; mode: 'open' | 'closed'; error: unknown }
}

export interface RateLimiterOptions {
  /** Keys remembered per local policy (default 100 000). */
  maxKeys?: number
  /** The shared store for `scope: global` policies; without one they count locally. */
  global?: GlobalLimiter
  /** How long a global store may take before the failure mode applies (default: the store's `timeoutMs`, else 50 ms). */
  globalTimeoutMs?: number
  /** Called when a global store fails or times out (a counter). */
  onStoreError?: (policy: string, mode: 'open' | 'closed', error: unknown) => void
  /** The current time in ms (tests). */
  now?: () => number
  /** The limiter of the previous config version: unchanged local policies keep their buckets. */
  previous?: RateLimiter
}

export interface RateLimiter {
  check(service: string, req: RateLimitRequest): Promise<RateLimitVerdict>
  /** Live keys of a local policy (tests and metrics). */
  keys(policy: string): number
  readonly size: number
  /** The bucket table of a local policy, when its definition equals `signature` (config updates). */
  localTable(policy: string, signature: string): TokenBucketTable | undefined
}

interface CompiledPolicy {
  name: string
  targets: ReadonlySet<string> | undefined
  match: RequestPredicate | undefined
  keyOf: (req: RateLimitRequest) => string | undefined
  limit: BucketLimit
  global: boolean
  failureMode: 'open' | 'closed'
  local: TokenBucketTable | undefined
  /** `"name";q=..;w=..` */
  policyHeader: string
  /** Everything that shapes the buckets: equal signatures may share them across versions. */
  signature: string
}

const ALLOWED: RateLimitVerdict = Object.freeze({ allowed: true, policy: undefined, headers: Object.freeze({}) as Record<string, string> })

export function compileRateLimits(policies: readonly RateLimitPolicy[], input: RateLimiterOptions = {}): RateLimiter {
  // `previous` is only read while compiling: keeping it would chain every old version in memory.
  const { previous, ...options } = input
  const maxKeys = options.maxKeys ?? DEFAULT_MAX_KEYS
  const now = options.now ?? Date.now
  const timeoutMs = options.globalTimeoutMs ?? options.global?.timeoutMs ?? 50
  const regex = createRegexCache()
  const compiled = policies.map((p): CompiledPolicy => {
    const limit: BucketLimit = { requests: p.limit.requests, perMs: p.limit.per, ...(p.limit.burst === undefined ? {} : { burst: p.limit.burst }) }
    const global = p.scope === 'global' && options.global !== undefined
    const signature = JSON.stringify([p.key, p.limit, p.match ?? null, p.targets ?? null, maxKeys])
    return {
      name: p.name,
      targets: p.targets === undefined ? undefined : new Set(p.targets),
      match: p.match === undefined ? undefined : compileRequestMatch(p.match, regex),
      keyOf: keyExtractor(p.key),
      limit,
      global,
      failureMode: p.failureMode,
      local: global ? undefined : (previous?.localTable(p.name, signature) ?? createTokenBucketTable(limit, maxKeys)),
      signature,
      policyHeader: `"${p.name}";q=${p.limit.requests};w=${windowSeconds(p.limit.per)}`,
    }
  })
  const byName = new Map(compiled.map((p) => [p.name, p]))
  const perService = new Map<string, CompiledPolicy[]>()
  const forService = (service: string) => {
    let list = perService.get(service)
    if (!list) {
      list = compiled.filter((p) => p.targets === undefined || p.targets.has(service))
      if (perService.size < 100_000) perService.set(service, list)
    }
    return list
  }

  async function takeGlobal(p: CompiledPolicy, key: string): Promise<BucketResult | { failed: unknown }> {
    try {
      return await withTimeout(options.global!.take(`${p.name}:${key}`, p.limit), timeoutMs, `rate limit store "${options.global!.name}"`)
    } catch (error) {
      return { failed: error }
    }
  }

  return {
    size: compiled.length,
    keys: (name) => byName.get(name)?.local?.size ?? 0,
    localTable(name, signature) {
      const p = byName.get(name)
      return p?.signature === signature ? p.local : undefined
    },
    async check(service, req) {
      const list = forService(service)
      if (list.length === 0) return ALLOWED
      let storeFailure: RateLimitVerdict['storeFailure']
      for (const p of list) {
        if (p.match && !p.match(req)) continue
        const key = p.keyOf(req)
        if (key === undefined) continue
        let result: BucketResult
        if (p.local) result = p.local.take(key, now())
        else {
          const r = await takeGlobal(p, key)
          if ('failed' in r) {
            options.onStoreError?.(p.name, p.failureMode, r.failed)
            storeFailure = { policy: p.name, mode: p.failureMode, error: r.failed }
            if (p.failureMode === 'open') continue
            // Closed: refuse as a rate limit, asking the client to come back in a second.
            result = { allowed: false, remaining: 0, retryAfterMs: 1000, resetMs: 1000 }
          } else result = r
        }
        if (!result.allowed) return { allowed: false, policy: p.name, headers: limitedHeaders(p, result), ...(storeFailure ? { storeFailure } : {}) }
      }
      return storeFailure ? { ...ALLOWED, storeFailure } : ALLOWED
    },
  }
}

function limitedHeaders(p: CompiledPolicy, r: BucketResult): Record<string, string> {
  return {
    'retry-after': String(Math.max(1, Math.ceil(r.retryAfterMs / 1000))),
    'ratelimit-policy': p.policyHeader,
    ratelimit: `"${p.name}";r=${r.remaining};t=${Math.max(1, Math.ceil(r.retryAfterMs / 1000))}`,
  }
}

/** The IETF `w` parameter is in whole seconds; a sub-second window rounds up to 1. */
function windowSeconds(perMs: number): number {
  return Math.max(1, Math.ceil(perMs / 1000))
}

/**
 * What a policy's bucket is keyed by. Unknown client address and unauthenticated source
 * each share one bucket (an empty key), so they are limited together rather than not at
 * all; a missing `header:<name>` means the policy does not apply, as with Envoy descriptors.
 */
function keyExtractor(key: string): (req: RateLimitRequest) => string | undefined {
  if (key === 'client-ip') return (req) => req.ip ?? ''
  if (key === 'source-service') return (req) => req.source ?? ''
  if (key === 'global') return () => '*'
  const name = key.slice('header:'.length).toLowerCase()
  return (req) => req.headers.get(name) ?? undefined
}
