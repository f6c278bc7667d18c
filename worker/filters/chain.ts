/**
 * The filter chain: the ONE place that knows the order a request goes through.
 *
 *   observe (request id, traceparent, timer) → route → identity → authz → rate limit →
 *   fault → request rewrite (headers, URL, redirect, CORS) → upstream → response rewrite →
 *   metrics and access log
 *
 * Policy and fault stages are compiled per config snapshot by factories handed in by
 * `createAmbassador` (the policy and resilience modules supply them); a stage answers
 * the request itself by returning a Response, or returns undefined to let it through.
 * @module
 */
import type { LocalReplyCode } from '../../protocol/errors.ts'
import type { ConfigHolder } from '../config/holder.ts'
import type { Snapshot } from '../config/snapshot.ts'
import type { Direction, Exchange } from '../exchange.ts'
import type { Platform, UpstreamRequest, RequestContext } from '../platform.ts'
import type { LegateMetrics } from '../observe/legate-metrics.ts'
import type { CounterSeries, HistogramSeries } from '../observe/metrics.ts'
import type { AccessRecord, Logger } from '../observe/access-log.ts'
import { requestId, REQUEST_ID_HEADER } from '../observe/request-id.ts'
import { childTrace, TRACEPARENT_HEADER } from '../observe/trace-context.ts'
import { localReply, localReplyFor } from '../local-reply.ts'
import { IDENTITY_HEADER } from '../../protocol/identity/claims.ts'
import type { Send } from '../upstream/send.ts'
import type { ServiceEndpoints } from '../upstream/endpoints.ts'
import type { RouteMatchResult } from '../route/types.ts'

/** A policy or fault stage: a Response answers the request, undefined lets it through. */
export type Stage = (ex: Exchange, c: RequestContext) => Response | undefined | Promise<Response | undefined>

/** Builds a stage from one config snapshot (undefined: nothing to do for this config). */
export type StageFactory = (snapshot: Snapshot, direction: Direction) => Stage | undefined

export interface ChainStages {
  identity?: StageFactory
  authz?: StageFactory
  rateLimit?: StageFactory
  fault?: StageFactory
  /** CORS: part of the request rewrite step; may answer a preflight or add response edits. */
  cors?: StageFactory
}

export interface ChainOptions {
  holder: ConfigHolder
  platform: Platform
  metrics: LegateMetrics
  logger: Logger
  send: Send
  stages?: ChainStages
  /** Inbound: the local service and its app's origin. */
  service?: string
  app?: string
}

export const SOURCE_HEADER = 'x-legate-source'
// Only the ambassador speaks for a service: a client's (or an app's) source or token never passes.
const DROP_INBOUND: ReadonlySet<string> = new Set([SOURCE_HEADER, IDENTITY_HEADER])
const STAGE_ORDER = ['identity', 'authz', 'rateLimit', 'fault', 'cors'] as const
/** Status codes as label strings, made once. */
const CODES: string[] = Array.from({ length: 600 }, (_, i) => String(i))

export interface Chain {
  inbound(c: RequestContext): Promise<Response>
  outbound(c: RequestContext): Promise<Response>
  gateway(c: RequestContext): Promise<Response>
}

export function createChain(options: ChainOptions): Chain {
  const { holder, platform, metrics, logger, send } = options
  const stageCache = new WeakMap<Snapshot, Map<Direction, Stage[]>>()

  function stagesFor(snapshot: Snapshot, direction: Direction): Stage[] {
    let byDirection = stageCache.get(snapshot)
    if (!byDirection) stageCache.set(snapshot, (byDirection = new Map()))
    let list = byDirection.get(direction)
    if (!list) {
      list = []
      for (const name of STAGE_ORDER) {
        const stage = options.stages?.[name]?.(snapshot, direction)
        if (stage) list.push(stage)
      }
      byDirection.set(direction, list)
    }
    return list
  }

  function begin(c: RequestContext, direction: Direction): Exchange {
    const url = c.req.url
    const schemeEnd = url.indexOf('://') + 3
    let pathStart = url.indexOf('/', schemeEnd)
    if (pathStart < 0) pathStart = url.length
    const q = url.indexOf('?', pathStart)
    const headers = platform.requestHeaders ? platform.requestHeaders(c) : c.req.raw.headers
    return {
      direction,
      snapshot: holder.current,
      start: performance.now(),
      time: platform.now(),
      requestId: requestId(headers.get(REQUEST_ID_HEADER)),
      trace: childTrace(headers.get(TRACEPARENT_HEADER)),
      client: platform.clientAddress(c),
      method: c.req.method,
      host: url.slice(schemeEnd, pathStart),
      path: q < 0 ? url.slice(pathStart) || '/' : url.slice(pathStart, q) || '/',
      query: q < 0 ? '' : url.slice(q + 1),
      headers,
      match: undefined,
      route: '',
      service: '',
      endpoint: '',
      reason: '',
      source: undefined,
      responseEdits: undefined,
    }
  }

  /**
   * The metric series of one (direction, route, service), resolved once: label values come
   * from the config (bounded), and this runs per request, so no label array or key string
   * is built per request.
   */
  interface SeriesOf {
    duration: HistogramSeries
    byCode: CounterSeries[]
  }
  const seriesCache: Record<Direction, Map<string, Map<string, SeriesOf>>> = { inbound: new Map(), outbound: new Map(), gateway: new Map() }
  function seriesOf(ex: Exchange): SeriesOf {
    const byRoute = seriesCache[ex.direction]
    let byService = byRoute.get(ex.route)
    if (!byService) byRoute.set(ex.route, (byService = new Map()))
    let series = byService.get(ex.service)
    if (!series) byService.set(ex.service, (series = { duration: metrics.duration.series([ex.direction, ex.route, ex.service]), byCode: [] }))
    return series
  }

  /** The access record, one for all requests: `logger.access` writes the line at once and keeps nothing of it. */
  const line: AccessRecord = { requestId: '', traceId: '', direction: '', method: '', host: '', path: '', route: '', service: '', endpoint: '', status: 0, duration: 0, bytes: 0, reason: '', grpcStatus: undefined }

  function record(ex: Exchange, status: number, bytes: number) {
    const seconds = (performance.now() - ex.start) / 1000
    const series = seriesOf(ex)
    ;(series.byCode[status] ??= metrics.requests.series([ex.direction, ex.route, ex.service, CODES[status] ?? String(status)])).inc()
    series.duration.observe(seconds)
    if (ex.reason) metrics.localReplies.inc([ex.reason])
    if (ex.grpcStatus !== undefined) metrics.grpcResponses.inc([ex.direction, ex.route, ex.service, ex.grpcStatus])
    if (logger.accessEnabled) {
      const r = line
      r.requestId = ex.requestId
      r.traceId = ex.trace.traceId
      r.direction = ex.direction
      r.method = ex.method
      r.host = ex.host
      r.path = ex.path
      r.route = ex.route
      r.service = ex.service
      r.endpoint = ex.endpoint
      r.status = status
      r.duration = seconds
      r.bytes = bytes
      r.reason = ex.reason
      r.grpcStatus = ex.grpcStatus
      logger.access(r, ex.time)
    }
  }

  function reply(ex: Exchange, code: LocalReplyCode, message: string, response = localReply(code, message)): Response {
    ex.reason = code
    response.headers.set(REQUEST_ID_HEADER, ex.requestId)
    record(ex, response.status, -1)
    return response
  }

  /** Answers with a stage's response (a policy refusal, a fault abort, a CORS preflight); a stage that refuses sets `ex.reason`. */
  function answered(ex: Exchange, response: Response): Response {
    try {
      response.headers.set(REQUEST_ID_HEADER, ex.requestId)
    } catch {
      // immutable headers (a fetched Response): sent as they are
    }
    record(ex, response.status, -1)
    return response
  }

  /**
   * Runs the stages in order; undefined when all let the request through. Synchronous
   * answers are not awaited, and with no stage at all (a config without policies or faults)
   * this costs nothing: it is on every request's path.
   */
  function runStages(ex: Exchange, c: RequestContext, snapshot: Snapshot, direction: Direction): Response | undefined | Promise<Response | undefined> {
    const stages = stagesFor(snapshot, direction)
    for (let i = 0; i < stages.length; i++) {
      const out = stages[i]!(ex, c)
      if (out instanceof Promise) return out.then((r) => (r ? answered(ex, r) : runRest(ex, c, stages, i + 1)))
      if (out) return answered(ex, out)
    }
    return undefined
  }

  async function runRest(ex: Exchange, c: RequestContext, stages: Stage[], from: number): Promise<Response | undefined> {
    for (let i = from; i < stages.length; i++) {
      const out = await stages[i]!(ex, c)
      if (out) return answered(ex, out)
    }
    return undefined
  }

  /** The upstream headers this hop sets: x-forwarded-for appended, request id, traceparent. */
  function setHeaders(ex: Exchange): string[] {
    const xff = ex.headers.get('x-forwarded-for')
    const set = [
      'x-forwarded-for',
      ex.client ? (xff ? `${xff}, ${ex.client}` : ex.client) : (xff ?? ''),
      REQUEST_ID_HEADER,
      ex.requestId,
      TRACEPARENT_HEADER,
      ex.trace.traceparent,
    ]
    if (!set[1]) set.splice(0, 2)
    return set
  }

  /** A failed send (no response head): the local reply for its error. */
  function unsent(ex: Exchange, err: unknown): Response {
    const { code, response } = localReplyFor(err)
    return reply(ex, code, '', response)
  }

  // A promise chain, not an async function: this is on every forwarded request, and an async
  // frame and its await cost more than one `then`.
  function forward(c: RequestContext, ex: Exchange, service: ServiceEndpoints, request: Omit<UpstreamRequest, 'origin'>): Promise<Response> {
    let sent
    try {
      sent = send(c, ex, { service, request })
    } catch (err) {
      return Promise.resolve(unsent(ex, err))
    }
    return sent.then((result) => {
      const status = result.status
      if (result.reason) ex.reason = result.reason
      result.done.then(
        (bytes) => {
          if (result.grpcStatus !== undefined) ex.grpcStatus = result.grpcStatus
          record(ex, status, bytes)
        },
        () => record(ex, status, -1),
      )
      return result.response
    }, (err) => unsent(ex, err))
  }

  function responseEditor(ex: Exchange, ruleEdit: ((h: Headers) => void) | undefined): ((h: Headers) => void) | undefined {
    const edits = ex.responseEdits
    if (!edits) return ruleEdit
    return (h) => {
      for (const e of edits) e(h)
      ruleEdit?.(h)
    }
  }

  /** Outbound and gateway: route, policies (gateway), then `upstream`. Not async, for the reason `forward` is not. */
  function routed(c: RequestContext, direction: 'outbound' | 'gateway'): Promise<Response> {
    const ex = begin(c, direction)
    const snapshot = ex.snapshot
    if (!snapshot) return Promise.resolve(reply(ex, 'not_ready', 'no valid config has been applied yet'))
    const match = snapshot.table.match({ host: ex.host, path: ex.path, method: ex.method, headers: ex.headers, query: ex.query })
    if (!match) return Promise.resolve(reply(ex, 'no_route', `no route for ${ex.host}${ex.path}`))
    ex.match = match
    ex.route = match.rule.route
    const backend = match.rule.pickBackend()
    if (backend) ex.service = backend
    const stopped = runStages(ex, c, snapshot, direction)
    if (stopped instanceof Promise) return stopped.then((r) => r ?? upstream(c, ex, snapshot, match, backend))
    return stopped ? Promise.resolve(stopped) : upstream(c, ex, snapshot, match, backend)
  }

  /** A routed request the stages let through: redirect, rewrite, forward. */
  function upstream(c: RequestContext, ex: Exchange, snapshot: Snapshot, match: RouteMatchResult, backend: string | undefined): Promise<Response> {
    const rule = match.rule
    if (rule.redirect) {
      const r = rule.redirect({ scheme: c.req.url.startsWith('https:') ? 'https' : 'http', host: ex.host, path: ex.path, query: ex.query }, match.matchedPrefix)
      const response = new Response(null, { status: r.status, headers: { location: r.location, [REQUEST_ID_HEADER]: ex.requestId } })
      responseEditor(ex, rule.responseHeaders)?.(response.headers)
      record(ex, r.status, 0)
      return Promise.resolve(response)
    }
    const service = backend ? snapshot.services.get(backend) : undefined
    if (!service) return Promise.resolve(reply(ex, 'no_healthy_upstream', `route "${rule.route}" has no backend to send to`))

    let host = ex.host
    let path = ex.path
    if (rule.rewrite) ({ host, path } = rule.rewrite({ host, path }, match.matchedPrefix))
    const t = rule.timeouts
    return forward(c, ex, service, {
      method: ex.method,
      path: ex.query ? `${path}?${ex.query}` : path,
      host,
      set: ex.upstreamSet ? [...setHeaders(ex), ...ex.upstreamSet] : setHeaders(ex),
      drop: DROP_INBOUND,
      editRequestHeaders: rule.requestHeaders,
      editResponseHeaders: responseEditor(ex, rule.responseHeaders),
      headersTimeout: t.backendRequest || t.request || 0,
      requestTimeout: t.request || 0,
      maxBodyBytes: rule.rule?.maxRequestBodyBytes,
    })
  }

  const appService: ServiceEndpoints | undefined = options.app
    ? {
        name: options.service ?? 'app',
        config: { name: options.service ?? 'app', endpoints: [{ url: options.app, weight: 1 }], loadBalancing: 'round-robin', hashKey: 'client-ip' },
        endpoints: [{ url: options.app, weight: 1, healthy: true, active: 0, current: 0 }],
        pick() {
          return this.endpoints[0]
        },
      }
    : undefined

  return {
    /** Requests for this node's service, to its app: identity, authz, rate limit, then forward. */
    async inbound(c) {
      const ex = begin(c, 'inbound')
      ex.service = options.service ?? ''
      const snapshot = ex.snapshot
      // Policies cannot be enforced without a config: fail closed.
      if (!snapshot) return reply(ex, 'not_ready', 'no valid config has been applied yet')
      if (!appService) return reply(ex, 'no_healthy_upstream', 'this ambassador has no --app to forward inbound requests to')
      let stopped = runStages(ex, c, snapshot, 'inbound')
      if (stopped instanceof Promise) stopped = await stopped
      if (stopped) return stopped
      const set = setHeaders(ex)
      if (ex.source) set.push(SOURCE_HEADER, ex.source)
      return forward(c, ex, appService, {
        method: ex.method,
        path: ex.query ? `${ex.path}?${ex.query}` : ex.path,
        host: ex.host,
        set,
        drop: DROP_INBOUND,
        editResponseHeaders: responseEditor(ex, undefined),
        headersTimeout: 0,
        requestTimeout: 0,
      })
    },
    outbound: (c) => routed(c, 'outbound'),
    gateway: (c) => routed(c, 'gateway'),
  }
}
