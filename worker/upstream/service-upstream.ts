/**
 * Everything upstream of one service, for one config version: its endpoint set, balancer,
 * passive outlier detection, active health checks, circuit breaker and retry budget, and
 * `call()`, which runs one client request through them: admit, pick, try, classify, feed
 * outlier detection, and retry on another endpoint within the attempts, the budget, the
 * breaker and the overall deadline. The try itself (building the upstream request,
 * streaming bodies) is the platform's forward, handed in per call, so this stays portable.
 * State that must outlive a config version (endpoint state, the retry budget, the breaker
 * while its limits are unchanged) is taken over from `previous`.
 * @module
 */
import { LegateError } from '../../protocol/errors.ts'
import type { ServiceConfig } from '../../protocol/schema.ts'
import { createBalancer, type Balancer } from './balancer.ts'
import { createCircuitBreaker, type BreakerLimit, type CircuitBreaker } from './circuit-breaker.ts'
import { createEndpointSet, type Endpoint, type EndpointSet } from './endpoint-set.ts'
import { compileHashKey, type HashKeyOf } from './hash-key.ts'
import { createHealthChecker, type HealthChecker, type SetIntervalLike } from './health-check.ts'
import { createOutlierDetector, type OutlierDetector } from './outlier-detection.ts'
import { backoffDelay, classifyError, isEndpointFailure, isRetryable, type RetryPolicy, type TryOutcome } from './retry.ts'
import { createRetryBudget, DEFAULT_RETRY_BUDGET, type RetryBudget, type RetryBudgetConfig } from './retry-budget.ts'
import type { HeaderReader } from '../platform.ts'

const NO_HEADERS: HeaderReader = { get: () => null }

/** What one try gets from `call()`; the platform's forward fills in the rest. */
export interface TryRequest {
  origin: string
  /** ms until the response head must arrive; 0: none. */
  headersTimeout: number
  /** ms left of the overall `request` timeout; 0: none. */
  requestTimeout: number
  /** Asked with the status (and a grpc-status in the head) before anything reaches the client; false: discard, a retry follows. */
  accept(status: number, grpcStatus?: number): boolean
}

export interface TryResult {
  status: number
  /** False when `accept` refused the response. */
  delivered: boolean
  /** Settles when the response body has been passed on (or cut short): until then the request counts as active. */
  done?: Promise<unknown>
}

/**
 * One try; rejects when no response head arrived (a `LegateError` `upstream_timeout` /
 * `upstream_unavailable`, or the fetch error). It gets the call's options too, so a caller can
 * pass one shared function and keep its per-request state in the options object instead of a
 * closure made per request.
 */
export type TryFn<R extends TryResult, O extends CallOptions = CallOptions> = (req: TryRequest, options: O) => Promise<R>

export interface CallOptions {
  retry?: RetryPolicy | undefined
  timeouts?: { request?: number | undefined; backendRequest?: number | undefined } | undefined
  /** Whether the request body can be sent again (none, or buffered): without it no retry. */
  replayable: boolean
  /** For ring-hash keys. */
  headers?: HeaderReader
  clientIp?: string
  /**
   * The client's abort: stops waiting, backoff and retries. Read only when needed (a
   * breaker's wait, a failed try, a retry), never on a plain request's path: on
   * @hono/node-server reading `request.signal` allocates an AbortController per request,
   * so callers may pass it as a getter.
   */
  readonly signal?: AbortSignal | undefined
}

/** Events for metrics and logs; every callback is optional. */
export interface UpstreamEvents {
  retry?(service: string): void
  ejection?(service: string, endpoint: string, durationMs: number): void
  breakerRejection?(service: string, limit: BreakerLimit): void
  budgetExhausted?(service: string): void
  healthChange?(service: string, endpoint: string, healthy: boolean): void
}

export interface ServiceUpstreamOptions {
  previous?: ServiceUpstream | undefined
  events?: UpstreamEvents
  /** Timers (and optionally fetch) for active health checks; without timers no checks run. */
  healthChecks?: { setInterval: SetIntervalLike; fetch?: typeof fetch }
  retryBudget?: RetryBudgetConfig
  now?: () => number
  random?: () => number
  /** Waits before a retry; injectable for tests. Resolves early when `signal` aborts. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>
}

export interface ServiceUpstream {
  readonly name: string
  readonly config: ServiceConfig
  readonly set: EndpointSet
  /** Runs one client request through the service. Throws a `LegateError` for local replies. */
  call<R extends TryResult, O extends CallOptions>(tryFn: TryFn<R, O>, options: O): Promise<R>
  /** Picks an endpoint without a try (mirrors, tests). */
  pick(key?: string): Endpoint
  /** Internals kept across config versions. */
  readonly breaker: CircuitBreaker | undefined
  readonly budget: RetryBudget
  readonly checker: HealthChecker | undefined
  readonly balancer: Balancer
  /** Policy, hash key and endpoints (URL and weight): equal keys mean the balancer can be kept. */
  readonly balancerKey: string
  /** Stops the health checker; the endpoint state stays for whoever takes it over. */
  stop(): void
}

/** What one request's retries have used so far. */
interface CallState {
  policy: RetryPolicy | undefined
  deadline: number
  retries: number
  holdsRetry: boolean
  /** Read lazily: see `CallOptions.signal`. */
  options: CallOptions
}

const defaultSleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (ms <= 0 || signal?.aborted) return resolve()
    const done = () => {
      clearTimeout(t)
      signal?.removeEventListener('abort', done)
      resolve()
    }
    const t = setTimeout(done, ms)
    signal?.addEventListener('abort', done, { once: true })
  })

/** The error a failed try ends the request with: the forward's own LegateError, or one made from the outcome. */
function asLocalReply(err: unknown, outcome: TryOutcome, endpoint: Endpoint): unknown {
  if (err instanceof LegateError || outcome.kind === 'aborted') return err
  if (outcome.kind === 'timeout') return new LegateError('upstream_timeout', `no response from ${endpoint.url} in time`, { status: 504, cause: err })
  return new LegateError('upstream_unavailable', `cannot reach ${endpoint.url}`, { status: 502, cause: err })
}

const acceptAll = () => true

const sameLimits = (a: ServiceConfig['circuitBreaker'], b: ServiceConfig['circuitBreaker']) => JSON.stringify(a) === JSON.stringify(b)

export function createServiceUpstream(config: ServiceConfig, options: ServiceUpstreamOptions = {}): ServiceUpstream {
  const now = options.now ?? Date.now
  const random = options.random ?? Math.random
  const sleep = options.sleep ?? defaultSleep
  const events = options.events ?? {}
  const name = config.name
  const previous = options.previous

  const set = createEndpointSet(config.endpoints, { previous: previous?.set, now })
  // A config push that leaves the policy and the endpoints alone keeps the balancer: no ring
  // rebuilt, and round-robin goes on where it was.
  const balancerKey = `${config.loadBalancing}|${config.hashKey}|${set.endpoints.map((e) => `${e.url} ${e.weight}`).join('|')}`
  const balancer: Balancer =
    previous && previous.balancerKey === balancerKey ? previous.balancer : createBalancer(config.loadBalancing, set.endpoints, { random })
  const hashKeyOf: HashKeyOf | undefined = config.loadBalancing === 'ring-hash' ? compileHashKey(config.hashKey) : undefined
  const outlier: OutlierDetector | undefined = config.outlierDetection
    ? createOutlierDetector(config.outlierDetection, set.endpoints, { now, onEject: (e, ms) => events.ejection?.(name, e.url, ms) })
    : undefined
  const breaker =
    previous && previous.breaker && sameLimits(previous.config.circuitBreaker, config.circuitBreaker)
      ? previous.breaker
      : config.circuitBreaker
        ? createCircuitBreaker(config.circuitBreaker, { onReject: (limit) => events.breakerRejection?.(name, limit) })
        : undefined
  const budget = previous?.budget ?? createRetryBudget(options.retryBudget ?? DEFAULT_RETRY_BUDGET, { now, onExhausted: () => events.budgetExhausted?.(name) })
  // Same checks of the same endpoints: keep the running checker, so frequent config pushes
  // do not keep restarting (and abandoning) its probes.
  const keepChecker =
    previous?.checker !== undefined &&
    JSON.stringify(previous.config.healthCheck) === JSON.stringify(config.healthCheck) &&
    previous.set.endpoints.length === set.endpoints.length &&
    previous.set.endpoints.every((e, i) => e === set.endpoints[i])
  if (!keepChecker) previous?.stop()
  const checker: HealthChecker | undefined = keepChecker
    ? previous!.checker
    : config.healthCheck && options.healthChecks
      ? createHealthChecker(config.healthCheck, set.endpoints, {
          setInterval: options.healthChecks.setInterval,
          ...(options.healthChecks.fetch ? { fetch: options.healthChecks.fetch } : {}),
          random,
          onChange: (e, healthy) => events.healthChange?.(name, e.url, healthy),
        })
      : undefined

  /**
   * Whether a plain try (`once`) counts itself in `endpoint.active`: only least-request reads
   * it, and counting means waiting for the body's end (a promise reaction per request).
   * Tries under a breaker or a retry policy always count (the breaker's slots wait anyway).
   */
  const countsActive = config.loadBalancing === 'least-request'

  function pick(key?: string, exclude?: Endpoint): Endpoint {
    const candidates = set.candidates(exclude)
    if (candidates.length === 0) throw new LegateError('no_healthy_upstream', `service "${name}" has no endpoint`, { status: 503 })
    return balancer.pick(candidates, key)
  }

  function record(e: Endpoint, outcome: TryOutcome) {
    if (!outlier) return
    if (isEndpointFailure(outcome)) outlier.failure(e)
    else if (outcome.kind === 'response') outlier.success(e)
  }

  /**
   * Whether a failed try may be retried; takes the breaker's retry slot and a budget token.
   * Per-request state lives in `st`, not in closures: tsx (esbuild keepNames) wraps every
   * named closure, which cost more than the rest of this path when made per request.
   */
  function mayRetry(st: CallState, outcome: TryOutcome): boolean {
    const policy = st.policy
    if (!policy || st.retries >= policy.attempts || !isRetryable(outcome, policy)) return false
    if (st.options.signal?.aborted || now() >= st.deadline) return false
    if (breaker && !st.holdsRetry) {
      if (!breaker.admitRetry()) return false
      st.holdsRetry = true
    }
    return budget.tryRetry()
  }

  /** One try is over: its endpoint and connection slot are free again. */
  function settleTry(endpoint: Endpoint) {
    endpoint.active--
    breaker?.releaseConnection()
  }

  /** The request is over: its request slot (and retry slot, if it retried) are free again. */
  function settleRequest(st: CallState) {
    if (st.holdsRetry) breaker?.releaseRetry()
    breaker?.releaseRequest()
  }

  const timedOut = (requestMs: number) => new LegateError('upstream_timeout', `service "${name}" did not answer within ${requestMs} ms`, { status: 504 })

  /** What a try that failed without a response head counts as; throws 504 when the overall deadline passed meanwhile. */
  function failedTry(err: unknown, endpoint: Endpoint, o: CallOptions, deadline: number, requestMs: number): TryOutcome {
    const overall = now() >= deadline
    const outcome = classifyError(err, {
      stopped: o.signal?.aborted === true || overall,
      tryTimedOut: (err as { code?: unknown })?.code === 'upstream_timeout' || (err as Error)?.name === 'TimeoutError',
    })
    if (outcome.kind !== 'aborted') record(endpoint, outcome)
    if (overall && !o.signal?.aborted) throw timedOut(requestMs)
    return outcome
  }

  /**
   * The usual request: no circuit breaker and no retry, so exactly one try. Same outcomes as
   * `retrying` with nothing to retry, without its async frame, loop state and second
   * continuation: this is every plain request's path.
   */
  function once<R extends TryResult, O extends CallOptions>(tryFn: TryFn<R, O>, o: O): Promise<R> {
    budget.request()
    const requestMs = o.timeouts?.request ?? 0
    const tryMs = o.timeouts?.backendRequest ?? 0
    const deadline = requestMs > 0 ? now() + requestMs : Infinity
    let endpoint: Endpoint
    let tried: Promise<R>
    try {
      endpoint = pick(hashKeyOf?.(o.headers ?? NO_HEADERS, o.clientIp))
      const left = deadline - now()
      if (left <= 0) throw timedOut(requestMs)
      const headersTimeout = Math.min(tryMs > 0 ? tryMs : Infinity, left)
      if (countsActive) endpoint.active++
      try {
        tried = tryFn({
          origin: endpoint.url,
          headersTimeout: Number.isFinite(headersTimeout) ? headersTimeout : 0,
          requestTimeout: Number.isFinite(left) ? left : 0,
          accept: outlier ? (status, grpcStatus) => (record(endpoint, { kind: 'response', status, grpcStatus }), true) : acceptAll,
        }, o)
      } catch (err) {
        tried = Promise.reject(err)
      }
    } catch (err) {
      return Promise.reject(err)
    }
    return tried.then(
      (result) => {
        if (!countsActive) return result
        if (result.delivered && result.done) {
          const settle = () => settleTry(endpoint)
          result.done.then(settle, settle)
        } else settleTry(endpoint)
        return result
      },
      (err) => {
        if (countsActive) settleTry(endpoint)
        throw asLocalReply(err, failedTry(err, endpoint, o, deadline, requestMs), endpoint)
      },
    )
  }

  function call<R extends TryResult, O extends CallOptions>(tryFn: TryFn<R, O>, o: O): Promise<R> {
    return breaker || (o.retry && o.replayable && o.retry.attempts > 0) ? retrying(tryFn, o) : once(tryFn, o)
  }

  /** Every other request: the breaker's slots, and tries until one is delivered or the retries run out. */
  async function retrying<R extends TryResult, O extends CallOptions>(tryFn: TryFn<R, O>, o: O): Promise<R> {
    budget.request()
    if (breaker && !breaker.admitRequest()) throw new LegateError('circuit_open', `service "${name}" is over its request limit`, { status: 503 })
    const requestMs = o.timeouts?.request ?? 0
    const tryMs = o.timeouts?.backendRequest ?? 0
    const deadline = requestMs > 0 ? now() + requestMs : Infinity
    const st: CallState = {
      policy: o.retry && o.replayable && o.retry.attempts > 0 ? o.retry : undefined,
      deadline,
      retries: 0,
      holdsRetry: false,
      options: o,
    }
    const key = hashKeyOf?.(o.headers ?? NO_HEADERS, o.clientIp)
    let exclude: Endpoint | undefined
    // The delivered response's body, while it streams: the counters stay taken until it ends.
    let streaming: Promise<unknown> | undefined

    try {
      for (;;) {
        const endpoint = pick(key, exclude)
        if (breaker) {
          const slot = breaker.acquireConnection(o.signal)
          if (!(slot === true || (await slot))) {
            if (o.signal?.aborted) throw o.signal.reason
            throw new LegateError('circuit_open', `service "${name}" has no connection slot free`, { status: 503 })
          }
        }
        const left = deadline - now()
        if (left <= 0) {
          breaker?.releaseConnection()
          throw timedOut(requestMs)
        }
        const headersTimeout = Math.min(tryMs > 0 ? tryMs : Infinity, left)
        let retry = false
        let handedOff = false
        endpoint.active++
        try {
          const result = await tryFn({
            origin: endpoint.url,
            headersTimeout: Number.isFinite(headersTimeout) ? headersTimeout : 0,
            requestTimeout: Number.isFinite(left) ? left : 0,
            // Without a retry policy or outlier detection there is nothing to decide on a
            // response head: a shared hook, not a closure per request.
            accept:
              st.policy || outlier
                ? (status, grpcStatus) => {
                    const outcome: TryOutcome = { kind: 'response', status, grpcStatus }
                    record(endpoint, outcome)
                    retry = mayRetry(st, outcome)
                    return !retry
                  }
                : acceptAll,
          }, o)
          if (result.delivered || !retry) {
            if (result.delivered && result.done) {
              // One continuation frees the try's slots and then the request's (see finally).
              handedOff = true
              streaming = result.done
              result.done.then(
                () => (settleTry(endpoint), settleRequest(st)),
                () => (settleTry(endpoint), settleRequest(st)),
              )
            }
            return result
          }
        } catch (err) {
          const outcome = failedTry(err, endpoint, o, deadline, requestMs)
          if (!mayRetry(st, outcome)) throw asLocalReply(err, outcome, endpoint)
        } finally {
          if (!handedOff) settleTry(endpoint)
        }
        // A retry: another endpoint where there is one, after a jittered backoff.
        events.retry?.(name)
        exclude = endpoint
        const wait = Math.min(backoffDelay(st.retries, st.policy!.backoff, random), Math.max(0, deadline - now()))
        st.retries++
        await sleep(wait, o.signal)
        if (o.signal?.aborted) throw o.signal.reason
        if (now() >= deadline) throw timedOut(requestMs)
      }
    } finally {
      // A streaming response settles the request with its try, when its body is done.
      if (!streaming) settleRequest(st)
    }
  }

  return {
    name,
    config,
    set,
    call,
    pick: (key) => pick(key),
    breaker,
    budget,
    checker,
    balancer,
    balancerKey,
    stop() {
      checker?.stop()
    },
  }
}
