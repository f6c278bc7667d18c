/**
 * The admin surface (CONTRACT §5): `/healthz` while the process lives, `/readyz` 200 once a
 * config serves (503 `{ready: false, reason}` before), `/metrics` in Prometheus text 0.0.4,
 * `/config` (version, digest, issuer, times, last error; never secrets).
 * @module
 */
import { Hono } from 'hono'
import type { ConfigHolder } from './config/holder.ts'
import type { LegateMetrics } from './observe/legate-metrics.ts'
import { PROMETHEUS_CONTENT_TYPE } from './observe/metrics.ts'

export interface AdminOptions {
  holder: ConfigHolder
  metrics: LegateMetrics
  /** Refreshes gauges that follow live state (endpoint health) just before a scrape. */
  beforeScrape?: () => void
}

export function createAdmin({ holder, metrics, beforeScrape }: AdminOptions): Hono {
  const app = new Hono()
  app.get('/healthz', (c) => c.json({ ok: true }))
  app.get('/readyz', (c) => {
    const r = holder.readiness()
    return c.json(r, r.ready ? 200 : 503)
  })
  app.get('/metrics', () => {
    beforeScrape?.()
    return new Response(metrics.registry.render(), { headers: { 'content-type': PROMETHEUS_CONTENT_TYPE } })
  })
  app.get('/config', (c) => c.json(holder.summary()))
  app.notFound((c) => c.json({ error: 'not_found', message: `no admin endpoint ${c.req.path}` }, 404))
  return app
}
