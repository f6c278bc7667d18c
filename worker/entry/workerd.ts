/**
 * The workerd (Cloudflare Workers) entry: one fetch handler in gateway mode, admin under
 * `/__legate/`. Bindings and vars (wrangler.toml, top level; docs/edge.md):
 *   LEGATE_MESH              the mesh (the JWT audience)
 *   LEGATE_TRUST             the pinned config-signing JWKS, as JSON (a var or a secret)
 *   LEGATE_KV                KV namespace of the control: `meshes/<mesh>/current` is read, or
 *   LEGATE_CONTROL           the control worker as a service binding (or its URL)
 *   LEGATE_CONFIG            a signed config as text (a fixed config, or a seed before KV has one)
 *   LEGATE_REFRESH_SECONDS   re-read the source at most this often (default 5)
 *   LEGATE_MIN_VERSION       refuse configs below this version in every isolate (rollback floor)
 *   LEGATE_SERVICE, LEGATE_IDENTITY_KEY (secret)  this gateway's workload identity
 *   LEGATE_RATE_LIMITER      Durable Object namespace of `RateLimiterObject` (scope: global limits)
 * Each isolate builds the ambassador once and verifies each config version once.
 * @module
 */
import { createTrustSet } from '../../protocol/keys.ts'
import { createAmbassador, GATEWAY_ADMIN_PREFIX, type Ambassador } from '../app.ts'
import type { LogLevel } from '../observe/access-log.ts'
import { createDurableObjectLimiter, RateLimiterObject, type DurableObjectNamespaceLike } from '../policy/durable-object-limiter.ts'
import { createWorkerdPlatform } from '../platforms/workerd/platform.ts'
import { controlSource, kvSource, type EdgeConfigSource, type FetcherLike, type KvLike } from '../platforms/workerd/config-sources.ts'
import { createEdgeConfig, type EdgeConfig } from '../platforms/workerd/edge-config.ts'
import { edgeLimits } from '../platforms/workerd/edge-limits.ts'

/** The Durable Object class behind `LEGATE_RATE_LIMITER` (scope: global rate limits); wrangler binds it by this export. */
export { RateLimiterObject }

export interface WorkerdEnv {
  LEGATE_MESH: string
  LEGATE_TRUST: string
  LEGATE_KV?: KvLike
  LEGATE_CONTROL?: FetcherLike | string
  LEGATE_CONFIG?: string
  LEGATE_REFRESH_SECONDS?: string
  LEGATE_MIN_VERSION?: string
  LEGATE_LOG_LEVEL?: LogLevel
  LEGATE_SERVICE?: string
  LEGATE_IDENTITY_KEY?: string
  LEGATE_RATE_LIMITER?: DurableObjectNamespaceLike
}

interface ExecutionContextLike {
  waitUntil(p: Promise<unknown>): void
}

interface Isolate {
  amb: Ambassador
  config: EdgeConfig
  describe(): object
}

let isolate: Promise<Isolate> | undefined

async function init(env: WorkerdEnv): Promise<Isolate> {
  const platform = createWorkerdPlatform()
  const trust = await createTrustSet(JSON.parse(env.LEGATE_TRUST), 'LEGATE_TRUST')
  const rateLimitStore = env.LEGATE_RATE_LIMITER ? createDurableObjectLimiter(env.LEGATE_RATE_LIMITER) : undefined
  const identityKey = env.LEGATE_IDENTITY_KEY ? (JSON.parse(env.LEGATE_IDENTITY_KEY) as unknown) : undefined
  const amb = createAmbassador({ platform, trust, mesh: env.LEGATE_MESH, logLevel: env.LEGATE_LOG_LEVEL ?? 'warn', rateLimitStore, service: env.LEGATE_SERVICE, identityKey })
  const sources: EdgeConfigSource[] = []
  const fixed = env.LEGATE_CONFIG?.trim()
  if (fixed) sources.push({ name: 'binding LEGATE_CONFIG', read: async () => fixed })
  if (env.LEGATE_KV) sources.push(kvSource(env.LEGATE_KV, env.LEGATE_MESH))
  if (env.LEGATE_CONTROL) sources.push(controlSource(env.LEGATE_CONTROL, env.LEGATE_MESH))
  const refreshMs = Number(env.LEGATE_REFRESH_SECONDS ?? 5) * 1000
  const minVersion = Number(env.LEGATE_MIN_VERSION ?? 0)
  const verifications = amb.metrics.registry.counter('legate_edge_config_verifications_total', 'Signed configs verified by this isolate (once per version).', [])
  const config = createEdgeConfig({ holder: amb.holder, sources, refreshMs, minVersion, verifications, now: platform.now })
  const caps = { globalRateLimits: !!rateLimitStore }
  amb.holder.onApply((s) => {
    for (const d of edgeLimits(s.verified.config, caps).filter((d) => d.where.length)) amb.logger.warn('feature disabled on the edge', { ...d })
  })
  if (!sources.length) amb.holder.noteSourceError(new Error('no config source: bind LEGATE_KV or LEGATE_CONTROL, or set LEGATE_CONFIG'))
  return {
    amb,
    config,
    describe: () => ({
      ...amb.holder.summary(),
      edge: {
        runtime: 'workerd',
        sources: sources.map((s) => s.name),
        refreshSeconds: refreshMs / 1000,
        minVersion,
        verifications: config.verifications,
        lastReadAt: config.lastReadAt ? new Date(config.lastReadAt).toISOString() : null,
        disabled: edgeLimits(amb.holder.current?.verified.config, caps),
      },
    }),
  }
}

export default {
  async fetch(request: Request, env: WorkerdEnv, ctx: ExecutionContextLike): Promise<Response> {
    let it: Isolate
    try {
      it = await (isolate ??= init(env).catch((err) => {
        isolate = undefined
        throw err
      }))
    } catch (err) {
      // A broken var or secret (LEGATE_TRUST, LEGATE_IDENTITY_KEY): say what, as a local reply.
      return Response.json({ error: 'not_ready', message: `the edge ambassador is misconfigured: ${(err as Error)?.message ?? String(err)}` }, { status: 503 })
    }
    await it.config.ensure((work) => ctx.waitUntil(work))
    if (request.method === 'GET' && new URL(request.url).pathname === `${GATEWAY_ADMIN_PREFIX}/config`) return Response.json(it.describe())
    return it.amb.gateway.fetch(request, env, ctx as never)
  },
}
