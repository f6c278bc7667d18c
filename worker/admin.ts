/**
 * The admin surface (CONTRACT §5): `/healthz` while the process lives, `/readyz` 200 once a
 * config serves (503 `{ready: false, reason}` before), `/metrics` in Prometheus text 0.0.4,
 * `/config` (version, digest, issuer, times, last error; never secrets). With a logger, also
 * `/logging`: `GET` the level, `POST /logging?level=debug` to change it while the ambassador
 * runs (Envoy's admin has the same; Linkerd's `/proxy-log-level`).
 * @module
 */
import { Hono } from 'hono'
import type { ConfigHolder } from './config/holder.ts'
import type { LegateMetrics } from './observe/legate-metrics.ts'
import { PROMETHEUS_CONTENT_TYPE } from './observe/metrics.ts'
import { isLogLevel, LOG_LEVELS, type Logger } from './observe/access-log.ts'

export interface AdminOptions {
  holder: ConfigHolder
  metrics: LegateMetrics
  /** Refreshes gauges that follow live state (endpoint health) just before a scrape. */
  beforeScrape?: () => void
  /**
   * Serves `/logging`. Only for an admin on a listener of its own (loopback by default): the
   * gateway's admin paths share the public port, where no one may change the level.
   */
  logger?: Logger
}

export function createAdmin({ holder, metrics, beforeScrape, logger }: AdminOptions): Hono {
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
  if (logger) {
    app.get('/logging', (c) => c.json({ level: logger.level }))
    app.post('/logging', (c) => {
      const level = c.req.query('level')
      if (!isLogLevel(level)) return c.json({ error: 'bad_request', message: `?level= must be one of ${LOG_LEVELS.join(', ')}` }, 400)
      const previous = logger.level
      // Written before the change, so the level that was in force (the one being watched) shows it.
      logger.warn('log level changed', { from: previous, to: level })
      logger.setLevel(level)
      return c.json({ level, previous })
    })
  }
  app.notFound((c) => c.json({ error: 'not_found', message: `no admin endpoint ${c.req.path}` }, 404))
  return app
}
