/**
 * `createAmbassador`: the one factory. It wires the config holder, the filter chain, the
 * metrics and the admin surface, and returns Hono apps for each listener: `inbound` (to the
 * local app), `outbound` (by Host, or as an HTTP proxy with absolute-form targets), `admin`,
 * and `gateway` (one fetch handler for the edge: routing, with admin under `/__legate/`).
 * `handlers` are the inbound and outbound apps' one handler without Hono: what the entries
 * serve (through `fetchHandler` on Bun and Deno, directly on Node's HTTP/1.1 listeners),
 * because routed traffic needs neither Hono's router nor its per-request context (legate
 * routes with its own table), and on Node those measured several µs of CPU per request.
 * Web standards only: what differs by runtime comes in through `platform`.
 * @module
 *
 * @example
 * const amb = createAmbassador({ platform, trust, mesh: 'demo', control: 'http://127.0.0.1:8787' })
 * await amb.start()
 * serve({ fetch: amb.outbound.fetch, port: 15001 })
 */
import { Hono } from 'hono'
import type { TrustSet } from '../protocol/keys.ts'
import type { ContextHandler, Platform, RequestContext } from './platform.ts'
import { createConfigHolder, type ConfigHolder } from './config/holder.ts'
import { createControlSource, type ConfigSource } from './config/control-source.ts'
import { createLegateMetrics, type LegateMetrics } from './observe/legate-metrics.ts'
import { registerProcessMetrics } from './observe/process-metrics.ts'
import { createLogger, type LogLevel, type Logger } from './observe/access-log.ts'
import { createAdmin } from './admin.ts'
import { createChain, type ChainStages } from './filters/chain.ts'
import type { Send } from './upstream/send.ts'
import { createResilientSend } from './upstream/resilient-send.ts'
import { faultStage } from './filters/fault.ts'
import { createPolicyStages } from './policy/policy-stages.ts'
import type { GlobalLimiter } from './policy/global-limiter.ts'

export interface AmbassadorOptions {
  platform: Platform
  /** The pinned keys configs must be signed with. */
  trust: TrustSet
  mesh: string
  /** This node's service (inbound policies apply for it). */
  service?: string
  /** The local app's origin, e.g. `http://127.0.0.1:8080`: where inbound requests go. */
  app?: string
  /** The control API base URL: subscribe with long-polls. */
  control?: string
  /** Any other source of signed configs (a watched file on Node). Used instead of `control`. */
  source?: (holder: ConfigHolder, logger: Logger) => ConfigSource
  /** This service's private workload JWK, for identity tokens on outbound requests. */
  identityKey?: unknown
  logLevel?: LogLevel
  maxConfigBytes?: number
  /** Policy, fault and CORS stages, compiled per config (see `filters/chain.ts`). */
  stages?: ChainStages
  /** The shared store for `scope: global` rate limits (Redis on Node/Deno, a Durable Object on workerd). */
  rateLimitStore?: GlobalLimiter
  /** Keys remembered per local rate limit policy (default 100 000). */
  maxRateLimitKeys?: number
  /** Replaces the upstream step (retries, circuit breaking); default: one attempt, round-robin. */
  send?: Send
  /** Control long-poll tuning (tests). */
  controlWaitSeconds?: number
  controlMinBackoff?: number
  controlMaxBackoff?: number
}

/** A fetch handler as runtimes call it: the request, the runtime's bindings, the execution context (workerd). */
export type FetchHandler = (request: Request, env?: unknown, executionCtx?: RequestContext['executionCtx']) => Promise<Response>

/** A listener's handler as a fetch handler. */
export const fetchHandler =
  (handle: ContextHandler): FetchHandler =>
  (raw, env, executionCtx) =>
    handle({ req: { url: raw.url, method: raw.method, raw }, env, executionCtx })

export interface Ambassador {
  readonly holder: ConfigHolder
  readonly metrics: LegateMetrics
  readonly logger: Logger
  readonly inbound: Hono
  readonly outbound: Hono
  readonly admin: Hono
  readonly gateway: Hono
  /** The one handler of `inbound` and `outbound` without Hono in between: what the entries serve. */
  readonly handlers: { readonly inbound: ContextHandler; readonly outbound: ContextHandler }
  /**
   * The same handlers without the rejection handler `handlers` adds (they may also throw), and
   * `failed`, which logs what they failed with and makes the 500 answer: for a caller that
   * attaches a continuation of its own to every request anyway (the Node listener), one
   * promise and one promise reaction less per request.
   */
  readonly unguarded: { readonly inbound: ContextHandler; readonly outbound: ContextHandler; failed(err: unknown): Response }
  /** Serves the persisted last-known-good at once (if any), then starts the config source. */
  start(): Promise<void>
  stop(): void
}

/** Admin paths on the gateway live under this prefix, out of the way of routed traffic. */
export const GATEWAY_ADMIN_PREFIX = '/__legate'

export function createAmbassador(options: AmbassadorOptions): Ambassador {
  const { platform, trust, mesh } = options
  const logger = createLogger(options.logLevel ?? 'info', (line) => platform.log(line), () => platform.now())
  const metrics = createLegateMetrics()
  const holder = createConfigHolder({ trust, mesh, maxBytes: options.maxConfigBytes, platform, metrics, logger })
  // The upstream step: load balancing, health, outlier ejection, breakers, retries, mirrors.
  const resilience = options.send ? undefined : createResilientSend({ platform, holder, metrics })
  const chain = createChain({
    holder,
    platform,
    metrics,
    logger,
    send: options.send ?? resilience!.send,
    // Policies (identity, authz, rate limit, CORS) and Fault are always on; callers may override a stage.
    stages: {
      ...createPolicyStages({ registry: metrics.registry, service: options.service, identityKey: options.identityKey, rateLimitStore: options.rateLimitStore, maxRateLimitKeys: options.maxRateLimitKeys }),
      fault: faultStage(),
      ...options.stages,
    },
    service: options.service,
    app: options.app,
  })

  const sampleProcess = platform.processStats && registerProcessMetrics(metrics.registry, () => platform.processStats!())
  const beforeScrape = () => {
    sampleProcess?.()
    const snap = holder.current
    if (!snap) return
    for (const s of snap.services.values()) for (const e of s.endpoints) metrics.endpointHealthy.set([s.name, e.url], e.healthy ? 1 : 0)
  }
  const admin = createAdmin({ holder, metrics, beforeScrape, logger })

  const failed = (err: unknown) => {
    logger.error('unhandled error', { error: (err as Error)?.stack ?? String(err) })
    return Response.json({ error: 'internal', message: 'the ambassador failed to handle the request' }, { status: 500 })
  }
  // Not an async function: the chain's promise gets a rejection handler instead of an async
  // frame and an await of its own on every request (see small-body-forward.ts on their cost).
  const handler =
    (handle: ContextHandler): ContextHandler =>
    (c) => {
      try {
        return handle(c).catch(failed)
      } catch (err) {
        return Promise.resolve(failed(err))
      }
    }
  const handlers = { inbound: handler(chain.inbound), outbound: handler(chain.outbound) }
  const unguarded = { inbound: chain.inbound, outbound: chain.outbound, failed }
  const listener = (handle: ContextHandler) => new Hono().all('*', (c) => handle(c))
  const inbound = listener(handlers.inbound)
  const outbound = listener(handlers.outbound)
  const gateway = new Hono()
  // Without /logging: the gateway's admin paths are on its public port.
  gateway.route(GATEWAY_ADMIN_PREFIX, createAdmin({ holder, metrics, beforeScrape }))
  gateway.all('*', chain.gateway)

  let source: ConfigSource | undefined
  if (options.source) source = options.source(holder, logger)
  else if (options.control) {
    source = createControlSource({
      url: options.control,
      mesh,
      holder,
      logger,
      maxBytes: options.maxConfigBytes,
      waitSeconds: options.controlWaitSeconds,
      minBackoff: options.controlMinBackoff,
      maxBackoff: options.controlMaxBackoff,
    })
  }

  return {
    holder,
    metrics,
    logger,
    inbound,
    outbound,
    admin,
    gateway,
    handlers,
    unguarded,
    async start() {
      await holder.restore()
      source?.start()
    },
    stop() {
      source?.stop()
      resilience?.stop()
    },
  }
}
