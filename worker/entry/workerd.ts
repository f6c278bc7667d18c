/**
 * The workerd (Cloudflare Workers) entry: one fetch handler in gateway mode, admin under
 * `/__legate/`. Config comes from the control's KV layout (`meshes/<mesh>/current`, binding
 * `LEGATE_KV`, re-read at most every `LEGATE_REFRESH_SECONDS`) or a `LEGATE_CONFIG` text
 * binding; either way it is verified here with the pinned `LEGATE_TRUST` JWKS.
 * @module
 */
import type { Context } from 'hono'
import { createTrustSet } from '../../protocol/keys.ts'
import { createAmbassador, type Ambassador } from '../app.ts'
import { createFetchForward } from '../upstream/forward.ts'
import type { Platform } from '../platform.ts'
import { createDurableObjectLimiter, RateLimiterObject, type DurableObjectNamespaceLike } from '../policy/durable-object-limiter.ts'

/** The Durable Object class behind `LEGATE_RATE_LIMITER` (scope: global rate limits); wrangler binds it by this export. */
export { RateLimiterObject }

interface KvLike {
  get(key: string): Promise<string | null>
}

export interface WorkerdEnv {
  LEGATE_MESH: string
  /** The trusted keys, a JWKS as JSON text. */
  LEGATE_TRUST: string
  LEGATE_CONFIG?: string
  LEGATE_KV?: KvLike
  LEGATE_REFRESH_SECONDS?: string
  LEGATE_LOG_LEVEL?: 'debug' | 'info' | 'warn' | 'error' | 'silent'
  /** This gateway's service name and private workload JWK (a secret, JSON): upstream requests then carry its identity token. */
  LEGATE_SERVICE?: string
  LEGATE_IDENTITY_KEY?: string
  /** Durable Object namespace of `RateLimiterObject`: the shared store for `scope: global` rate limits. */
  LEGATE_RATE_LIMITER?: DurableObjectNamespaceLike
}

interface ExecutionContextLike {
  waitUntil(p: Promise<unknown>): void
}

const platform: Platform = {
  name: 'workerd',
  forward: createFetchForward(),
  clientAddress: (c: Context) => c.req.header('cf-connecting-ip') ?? '',
  waitUntil(c, work) {
    try {
      c?.executionCtx.waitUntil(work)
    } catch {
      void work.catch(() => {})
    }
  },
  // Timers only run while a request is being served here; health checks belong to Node/Deno.
  setInterval: (fn, ms) => {
    const t = setInterval(fn, ms)
    return { cancel: () => clearInterval(t) }
  },
  now: () => Date.now(),
  log: (line) => console.log(line),
}

let ambassador: Promise<Ambassador> | undefined
let lastRefresh = 0

async function init(env: WorkerdEnv): Promise<Ambassador> {
  const trust = await createTrustSet(JSON.parse(env.LEGATE_TRUST), 'LEGATE_TRUST')
  const rateLimitStore = env.LEGATE_RATE_LIMITER ? createDurableObjectLimiter(env.LEGATE_RATE_LIMITER) : undefined
  const identityKey = env.LEGATE_IDENTITY_KEY ? (JSON.parse(env.LEGATE_IDENTITY_KEY) as unknown) : undefined
  const amb = createAmbassador({ platform, trust, mesh: env.LEGATE_MESH, logLevel: env.LEGATE_LOG_LEVEL ?? 'warn', rateLimitStore, service: env.LEGATE_SERVICE, identityKey })
  if (env.LEGATE_CONFIG) await amb.holder.offer(env.LEGATE_CONFIG.trim(), 'binding LEGATE_CONFIG')
  await refresh(amb, env)
  return amb
}

async function refresh(amb: Ambassador, env: WorkerdEnv) {
  if (!env.LEGATE_KV) return
  lastRefresh = Date.now()
  const jws = await env.LEGATE_KV.get(`meshes/${env.LEGATE_MESH}/current`)
  if (jws) await amb.holder.offer(jws, 'kv')
}

export default {
  async fetch(request: Request, env: WorkerdEnv, ctx: ExecutionContextLike): Promise<Response> {
    const amb = await (ambassador ??= init(env).catch((err) => {
      ambassador = undefined
      throw err
    }))
    const every = Number(env.LEGATE_REFRESH_SECONDS ?? 10) * 1000
    if (env.LEGATE_KV && Date.now() - lastRefresh > every) ctx.waitUntil(refresh(amb, env))
    return amb.gateway.fetch(request, env, ctx as never)
  },
}
