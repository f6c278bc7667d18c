/**
 * The upstream step with resilience: the chain's `send` (see `send.ts`) made of the
 * service upstreams of `service-upstream.ts`. It keeps one `ServiceUpstream` per service,
 * rebuilt from the previous one on every config swap (so endpoint state, budgets and
 * breakers carry over, and health checks start at once with the platform's timers), runs
 * each request through the matched rule's retry policy and timeouts, fires the rule's
 * RequestMirror copies, and feeds the metric families of issue 6.
 *
 * @example
 * const send = createResilientSend({ platform, holder, metrics })
 * createChain({ ..., send })
 * @module
 */
import type { HeaderReader, Platform, UpstreamRequest, UpstreamResult, RequestContext } from '../platform.ts'
import type { ConfigHolder } from '../config/holder.ts'
import type { Snapshot } from '../config/snapshot.ts'
import type { LegateMetrics } from '../observe/legate-metrics.ts'
import type { CompiledRule } from '../route/types.ts'
import { createRequestMirror, type RequestMirror } from '../filters/request-mirror.ts'
import { createSend, type Send } from './send.ts'
import { upstreamHeaders } from './forward.ts'
import { prepareBody } from './replayable-body.ts'
import { createUpstreams, stopUpstreams, type Upstreams } from './upstreams.ts'
import type { CallOptions, ServiceUpstream, TryRequest, UpstreamEvents } from './service-upstream.ts'
import type { Exchange } from '../exchange.ts'
import type { RetryBudgetConfig } from './retry-budget.ts'

export interface ResilientSendOptions {
  platform: Pick<Platform, 'name' | 'forward' | 'setInterval' | 'waitUntil'>
  holder: Pick<ConfigHolder, 'current' | 'onApply'>
  metrics: LegateMetrics
  /** For health checks and mirrors; default: the global fetch. */
  fetch?: typeof fetch
  /**
   * Active health checks; default: on, except on workerd, whose isolates have no timers that
   * outlive a request (there outlier detection, which is passive, does the work).
   */
  healthChecks?: boolean
  retryBudget?: RetryBudgetConfig
  /** Mirror copies in flight per RequestMirror filter (default 64). */
  mirrorMaxInFlight?: number
}

export interface ResilientSend {
  send: Send
  /** The current service upstreams (tests, admin). */
  readonly upstreams: Upstreams | undefined
  /** Stops every health checker. */
  stop(): void
}

/**
 * Whether the client may send a body (the forward streams it once unless it is buffered
 * here). HTTP/1.1 says so with Content-Length or Transfer-Encoding; an HTTP/2 request (gRPC)
 * usually has neither, so a POST, PUT or PATCH without a length counts as having one.
 */
function hasBody(ex: Exchange): boolean {
  const h = ex.headers
  const length = h.get('content-length')
  if (length !== null) return length !== '0'
  if (h.get('transfer-encoding') !== null) return true
  const m = ex.method
  return m === 'POST' || m === 'PUT' || m === 'PATCH'
}

/**
 * One request's call options. `signal` is a getter: `call` reads it only when it needs it
 * (a failed try, a retry, a breaker's wait), and on Node the web `Request` that carries it
 * is built only when something asks for it.
 */
class CallOf implements CallOptions {
  readonly retry: CallOptions['retry']
  readonly timeouts: CallOptions['timeouts']
  readonly headers: HeaderReader
  readonly clientIp: string
  constructor(
    readonly c: RequestContext,
    readonly ex: Exchange,
    /** The upstream request each try fills in (origin, timeouts, accept) and forwards. */
    readonly req: UpstreamRequest,
    rule: CompiledRule | undefined,
    readonly replayable: boolean,
  ) {
    this.retry = rule?.retry
    this.timeouts = rule?.timeouts
    this.headers = ex.headers
    this.clientIp = ex.client
  }
  get signal(): AbortSignal {
    return this.c.req.raw.signal
  }
}

export function createResilientSend(options: ResilientSendOptions): ResilientSend {
  const { platform, holder, metrics } = options
  const doFetch = options.fetch ?? fetch
  const { registry } = metrics
  const ejections = registry.counter('legate_endpoint_ejections_total', 'Endpoints ejected by outlier detection.', ['service', 'endpoint'])
  const breakerRejections = registry.counter('legate_circuit_breaker_rejections_total', 'Requests or retries refused by a circuit breaker, by limit (requests, pending, retries).', ['service', 'limit'])
  const budgetExhausted = registry.counter('legate_retry_budget_exhausted_total', 'Retries not made because the retry budget was spent.', ['service'])
  const mirrorsDropped = registry.counter('legate_mirror_dropped_total', 'Mirror copies dropped because too many were in flight.', ['service'])

  /** The snapshot's endpoint objects carry the `healthy` flag that `legate_endpoint_healthy` reports. */
  const reportHealth = (service: string, url: string, healthy: boolean) => {
    metrics.endpointHealthy.set([service, url], healthy ? 1 : 0)
    const e = holder.current?.services.get(service)?.endpoints.find((x) => x.url === url)
    if (e) e.healthy = healthy
  }
  const events: UpstreamEvents = {
    retry: (s) => metrics.retries.inc([s]),
    ejection: (s, e) => ejections.inc([s, e]),
    breakerRejection: (s, limit) => breakerRejections.inc([s, limit]),
    budgetExhausted: (s) => budgetExhausted.inc([s]),
    healthChange: reportHealth,
  }

  let upstreams: Upstreams | undefined
  const apply = (snapshot: Snapshot) => {
    upstreams = createUpstreams(snapshot.verified.config.services, upstreams, {
      events,
      ...(options.retryBudget ? { retryBudget: options.retryBudget } : {}),
      ...((options.healthChecks ?? platform.name !== 'workerd') === false ? {} : { healthChecks: { setInterval: platform.setInterval, fetch: doFetch } }),
    })
    for (const u of upstreams.values()) for (const e of u.set.endpoints) reportHealth(u.name, e.url, e.healthy)
  }
  if (holder.current) apply(holder.current)
  holder.onApply(apply)

  const direct = createSend(platform)
  const mirrors = new WeakMap<CompiledRule, { service: string; mirror: RequestMirror }[]>()
  const mirrorsOf = (rule: CompiledRule) => {
    let list = mirrors.get(rule)
    if (!list) {
      list = []
      for (const f of rule.filters) {
        if (f.type !== 'RequestMirror') continue
        const service = f.requestMirror.backendRef.name
        const mirror = createRequestMirror(f.requestMirror, {
          maxInFlight: options.mirrorMaxInFlight ?? 64,
          ...(rule.timeouts.request ? { timeout: rule.timeouts.request } : {}),
          send: (req, signal) => {
            const target = upstreams?.get(service)
            if (!target) return Promise.reject(new Error(`no service ${service}`))
            const headers = req.headers
            headers.set('host', req.host)
            // fetch sets the length of the body it sends; a second one is refused.
            headers.delete('content-length')
            return doFetch(target.pick().url + req.path, { method: req.method, headers, body: (req.body ?? null) as BodyInit | null, signal, redirect: 'manual' })
          },
        })
        list.push({ service, mirror })
      }
      mirrors.set(rule, list)
    }
    return list
  }

  /** Fires the rule's mirror copies (only for a request whose body, if any, was buffered). */
  const fireMirrors = (rule: CompiledRule, raw: Request, req: UpstreamRequest, bytes: Uint8Array | null) => {
    for (const { service, mirror } of mirrorsOf(rule)) {
      if (mirror.stats.inFlight >= (options.mirrorMaxInFlight ?? 64)) mirrorsDropped.inc([service])
      mirror.mirror({ method: req.method, path: req.path, host: req.host, headers: upstreamHeaders(raw.headers, { ...req, origin: '' }), body: bytes })
    }
  }

  /** One try of a call: one function for every request, its state in the call's options (no closure per request). */
  const tryOnce = (t: TryRequest, o: CallOf): Promise<UpstreamResult> => {
    const req = o.req
    req.origin = t.origin
    req.headersTimeout = t.headersTimeout
    req.requestTimeout = t.requestTimeout
    req.accept = t.accept
    o.ex.endpoint = t.origin
    return platform.forward(o.c, req)
  }
  const callUpstream = (c: RequestContext, ex: Exchange, upstream: ServiceUpstream, req: UpstreamRequest, rule: CompiledRule | undefined, replayable: boolean) =>
    upstream.call(tryOnce, new CallOf(c, ex, req, rule, replayable))

  /** A request with a body a retry or a mirror may need again: a small one is buffered first. */
  const sendBuffered = async (c: RequestContext, ex: Exchange, upstream: ServiceUpstream, req: UpstreamRequest, rule: CompiledRule): Promise<UpstreamResult> => {
    const raw = c.req.raw
    const prepared = await prepareBody(raw)
    if (!prepared.replayable) {
      req.body = prepared.stream
      // A body of unknown length (HTTP/2, chunked) that streams on may still be retried where
      // no try has read it (a refused connection); the forwards refuse a stream already read.
      return callUpstream(c, ex, upstream, req, rule, ex.headers.get('content-length') === null)
    }
    const bytes = (req.body = prepared.bytes)
    if (rule.filters.length > 0) fireMirrors(rule, raw, req, bytes)
    return callUpstream(c, ex, upstream, req, rule, true)
  }

  // Not async: a plain request goes straight to `call` (one promise and one microtask less).
  const send: Send = (c: RequestContext, ex, target) => {
    // Only services of a config snapshot get the resilient path; the inbound app is one origin.
    const upstream = ex.snapshot?.services.get(target.service.name) === target.service ? upstreams?.get(target.service.name) : undefined
    if (!upstream) return direct(c, ex, target)
    const rule = ex.match?.rule
    const req = target.request as UpstreamRequest
    if (hasBody(ex)) {
      // Buffer a small body only when a retry or a mirror may need it again; else stream it once.
      if (rule && (rule.retry || rule.filters.some((f) => f.type === 'RequestMirror'))) return sendBuffered(c, ex, upstream, req, rule)
      return callUpstream(c, ex, upstream, req, rule, false)
    }
    if (rule && rule.filters.length > 0) fireMirrors(rule, c.req.raw, req, null)
    return callUpstream(c, ex, upstream, req, rule, true)
  }

  return {
    send,
    get upstreams() {
      return upstreams
    },
    stop() {
      stopUpstreams(upstreams)
    },
  }
}
