/**
 * The ambassador's metric families (CONTRACT §5), registered up front so every family is
 * exposed from the first scrape. Label values are bounded: direction is one of three,
 * route and service come from the config, code is an HTTP status, reason a contract code.
 * @module
 */
import { createRegistry, type Counter, type Gauge, type Histogram, type MetricsRegistry } from './metrics.ts'

export interface LegateMetrics {
  registry: MetricsRegistry
  /** direction, route, service, code */
  requests: Counter
  /** direction, route, service */
  duration: Histogram
  /** reason */
  localReplies: Counter
  /** service */
  retries: Counter
  /** service, endpoint */
  endpointHealthy: Gauge
  configVersion: Gauge
  /** result, reason */
  configUpdates: Counter
  /** The applied config's `exp`, in seconds since the epoch. */
  configExpiry: Gauge
  /** direction, code: Upgrade (WebSocket) requests answered, 101 when a tunnel opened. */
  upgrades: Counter
  /** direction: tunnels open now. */
  tunnelsOpen: Gauge
  /** direction, route, service, grpc_status: gRPC answers by status. */
  grpcResponses: Counter
}

export function createLegateMetrics(): LegateMetrics {
  const registry = createRegistry()
  const m: LegateMetrics = {
    registry,
    requests: registry.counter('legate_requests_total', 'Requests handled, by direction, route, service and response status.', ['direction', 'route', 'service', 'code']),
    duration: registry.histogram('legate_request_duration_seconds', 'Time from request received to response finished.', ['direction', 'route', 'service']),
    localReplies: registry.counter('legate_local_replies_total', 'Responses the ambassador answered itself, by reason.', ['reason']),
    retries: registry.counter('legate_upstream_retries_total', 'Upstream retries, by service.', ['service']),
    endpointHealthy: registry.gauge('legate_endpoint_healthy', '1 when the endpoint is considered healthy, else 0.', ['service', 'endpoint']),
    configVersion: registry.gauge('legate_config_version', 'The version (ver claim) of the config being served; 0 before the first.', []),
    configUpdates: registry.counter('legate_config_updates_total', 'Config updates received, applied or rejected (reason: a CONTRACT §2 code).', ['result', 'reason']),
    configExpiry: registry.gauge('legate_config_expiry_timestamp_seconds', 'The exp claim of the config being served; an expired config keeps serving.', []),
    upgrades: registry.counter('legate_upgrades_total', 'HTTP Upgrade (WebSocket) requests, by direction and answer (101: a tunnel opened).', ['direction', 'code']),
    tunnelsOpen: registry.gauge('legate_tunnels_open', 'Upgrade (WebSocket) tunnels open now, by direction.', ['direction']),
    grpcResponses: registry.counter('legate_grpc_responses_total', 'gRPC answers relayed, by direction, route, service and grpc-status.', ['direction', 'route', 'service', 'grpc_status']),
  }
  m.configVersion.set([], 0)
  for (const d of ['inbound', 'outbound']) m.tunnelsOpen.set([d], 0)
  return m
}
