/**
 * The endpoints of one service and the state each one carries: requests in flight,
 * passive (outlier) and active (health check) verdicts. The state lives on the endpoint
 * object, and a config update hands the previous set in, so an endpoint whose URL stays
 * keeps its counters, its ejection and its health across versions — a config push must
 * not resurrect an endpoint that was just ejected, nor forget the load on it.
 * @module
 */

export interface EndpointInput {
  url: string
  weight: number
}

/** One endpoint with its mutable runtime state. Shared by every config version that lists its URL. */
export interface Endpoint {
  readonly url: string
  weight: number
  /**
   * Upstream tries in flight (until the response body has been passed on), for least-request
   * balancing: plain tries to services with another policy are not counted (service-upstream.ts).
   */
  active: number
  /** Consecutive 5xx / connect failures / timeouts seen by passive outlier detection. */
  consecutiveFailures: number
  /** Epoch ms until which the endpoint is ejected; 0 when it is not. */
  ejectedUntil: number
  /** How many times it has been ejected (the ejection time multiplier). */
  timesEjected: number
  /** When its last ejection ended (epoch ms), so the multiplier can decay while it behaves. */
  lastEjectionEnd: number
  /** The active health check's verdict; true until a check says otherwise. */
  healthy: boolean
  /** Consecutive passing / failing active checks, counted toward the thresholds. */
  checkPasses: number
  checkFailures: number
}

export interface EndpointSet {
  /** Every endpoint with weight > 0, in config order. */
  readonly endpoints: readonly Endpoint[]
  /**
   * The endpoints a request may go to now: not ejected, not unhealthy, and not `exclude`
   * (the endpoint of a failed try) unless nothing else is available. When every endpoint
   * is ejected or unhealthy the set panics and offers all of them, as Envoy does, because
   * trying a maybe-bad endpoint beats failing every request.
   */
  candidates(exclude?: Endpoint): readonly Endpoint[]
  /** Whether the last `candidates()` call fell back to panic mode. */
  readonly panicking: boolean
}

export interface EndpointSetOptions {
  /** The set of the previous config version: state of endpoints with the same URL carries over. */
  previous?: EndpointSet
  now?: () => number
}

export function newEndpoint(url: string, weight: number): Endpoint {
  return { url, weight, active: 0, consecutiveFailures: 0, ejectedUntil: 0, timesEjected: 0, lastEjectionEnd: 0, healthy: true, checkPasses: 0, checkFailures: 0 }
}

/** Whether an endpoint may take traffic at `now`; an expired ejection ends here (no timer needed). */
export function isAvailable(e: Endpoint, now: number): boolean {
  if (e.ejectedUntil !== 0) {
    if (e.ejectedUntil > now) return false
    e.ejectedUntil = 0
    e.consecutiveFailures = 0
  }
  return e.healthy
}

export function createEndpointSet(inputs: readonly EndpointInput[], options: EndpointSetOptions = {}): EndpointSet {
  const now = options.now ?? Date.now
  const carried = new Map<string, Endpoint>()
  for (const e of options.previous?.endpoints ?? []) carried.set(e.url, e)
  const endpoints: Endpoint[] = []
  for (const input of inputs) {
    if (input.weight <= 0) continue
    const kept = carried.get(input.url)
    if (kept) {
      kept.weight = input.weight
      endpoints.push(kept)
    } else endpoints.push(newEndpoint(input.url, input.weight))
  }
  let panicking = false

  return {
    endpoints,
    get panicking() {
      return panicking
    },
    candidates(exclude) {
      const t = now()
      // Fast path: everything is available and nothing is excluded — no allocation.
      let down = 0
      for (const e of endpoints) if (!isAvailable(e, t)) down++
      panicking = down === endpoints.length
      if (down === 0 && exclude === undefined) return endpoints
      const pool = panicking ? endpoints : endpoints.filter((e) => isAvailable(e, t))
      if (exclude === undefined) return pool
      const others = pool.filter((e) => e !== exclude)
      return others.length > 0 ? others : pool
    },
  }
}
