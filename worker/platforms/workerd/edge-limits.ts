/**
 * What an edge ambassador cannot do, said out loud: /__legate/config lists each feature the
 * applied config asks for that is off here, with the reason, and a warning is logged once
 * per config version. Nothing is dropped silently.
 * @module
 */
import type { MeshConfig } from '../../../protocol/schema.ts'

export interface DisabledFeature {
  feature: string
  /** The services (or policies) of the applied config that asked for it; empty: always off here. */
  where: string[]
  reason: string
}

export interface EdgeCapabilities {
  /** A `RateLimiterObject` Durable Object namespace is bound (LEGATE_RATE_LIMITER). */
  globalRateLimits: boolean
}

export function edgeLimits(config: MeshConfig | undefined, caps: EdgeCapabilities): DisabledFeature[] {
  const out: DisabledFeature[] = [
    { feature: 'inbound and outbound listeners', where: [], reason: 'one fetch handler in gateway mode: policies for the routed service, then routing (CONTRACT §5)' },
    { feature: 'config long-poll and --state', where: [], reason: 'the config is read from KV or the control every LEGATE_REFRESH_SECONDS; KV itself is the last-known-good store' },
  ]
  if (!config) return out
  const services = (pick: (s: MeshConfig['services'][number]) => unknown) => config.services.filter((s) => pick(s)).map((s) => s.name)
  const hc = services((s) => s.healthCheck)
  if (hc.length) out.push({ feature: 'active health checks', where: hc, reason: 'no timers run between requests without a scheduled handler; passive outlier detection still ejects failing endpoints' })
  const h2 = services((s) => s.appProtocol && s.appProtocol !== 'http')
  if (h2.length) out.push({ feature: 'appProtocol h2c/h2 upstreams', where: h2, reason: "workerd's fetch chooses the protocol itself; requests go as HTTP/1.1 or by ALPN" })
  const tls = services((s) => s.tls && (s.tls.ca || s.tls.caFile || s.tls.certFile || s.tls.serverName))
  if (tls.length) out.push({ feature: 'per-service TLS (ca, caFile, serverName, client certificates)', where: tls, reason: "workerd's fetch verifies against the public roots by the URL's host; use an mtls_certificates binding instead" })
  const cb = services((s) => s.circuitBreaker)
  if (cb.length) out.push({ feature: 'circuitBreaker limits across isolates', where: cb, reason: 'counted per isolate: each isolate admits up to the limits on its own' })
  const limits = config.policies?.rateLimits ?? []
  const local = limits.filter((p) => (p as { scope?: string }).scope !== 'global').map((p) => p.name)
  if (local.length) out.push({ feature: 'local rate limits across isolates', where: local, reason: 'buckets live per isolate; use scope: global with the LEGATE_RATE_LIMITER Durable Object for one limit' })
  const global = limits.filter((p) => (p as { scope?: string }).scope === 'global').map((p) => p.name)
  if (global.length && !caps.globalRateLimits) out.push({ feature: 'global rate limits', where: global, reason: 'no LEGATE_RATE_LIMITER binding: these count per isolate, as local ones do' })
  return out
}
