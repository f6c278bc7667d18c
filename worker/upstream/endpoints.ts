/**
 * A service's endpoints as a config snapshot lists them, with a plain smooth weighted
 * round-robin `pick` (nginx's). Routed traffic goes through the resilient upstream
 * (`resilient-send.ts`: balancers, health, ejection, breakers, retries); this pick serves
 * the direct send (the inbound app, and ambassadors built with a custom `send`).
 * @module
 */
import type { ServiceConfig } from '../../protocol/schema.ts'

export interface Endpoint {
  /** The origin, `http://127.0.0.1:9001`: also the endpoint label in metrics. */
  readonly url: string
  readonly weight: number
  /** False while a health check or outlier detection keeps it out of rotation. */
  healthy: boolean
  /** Requests in flight to it. */
  active: number
  /** Smooth weighted round-robin state. */
  current: number
}

export interface ServiceEndpoints {
  readonly name: string
  readonly config: ServiceConfig
  readonly endpoints: readonly Endpoint[]
  /** The endpoint for the next request, or undefined when none is healthy (503 `no_healthy_upstream`). */
  pick(): Endpoint | undefined
}

/**
 * Builds the endpoint state of a service. `previous` (the same service in the config being
 * replaced) lends its per-endpoint health, so a config swap does not forget what was learnt.
 */
export function createServiceEndpoints(config: ServiceConfig, previous?: ServiceEndpoints): ServiceEndpoints {
  const endpoints: Endpoint[] = config.endpoints
    .filter((e) => e.weight > 0)
    .map((e) => ({ url: e.url, weight: e.weight, healthy: previous?.endpoints.find((p) => p.url === e.url)?.healthy ?? true, active: 0, current: 0 }))
  const single = endpoints.length === 1 ? endpoints[0] : undefined
  return {
    name: config.name,
    config,
    endpoints,
    pick() {
      if (single) return single.healthy ? single : undefined
      let best: Endpoint | undefined
      let total = 0
      for (const e of endpoints) {
        if (!e.healthy) continue
        e.current += e.weight
        total += e.weight
        if (!best || e.current > best.current) best = e
      }
      if (best) best.current -= total
      return best
    },
  }
}
