/**
 * One load-balancing policy per service (CONTRACT §1 `loadBalancing`). A balancer picks
 * among the candidates the endpoint set offers (already without ejected, unhealthy or
 * excluded endpoints), so every policy gets outlier ejection, health and retry exclusion
 * for free and only decides the order.
 * @module
 */
import type { Endpoint } from './endpoint-set.ts'
import { createRoundRobin } from './round-robin.ts'
import { createLeastRequest } from './least-request.ts'
import { createRandom } from './random.ts'
import { createRingHash } from './ring-hash.ts'

export type LoadBalancingPolicy = 'round-robin' | 'least-request' | 'random' | 'ring-hash'

export interface Balancer {
  /**
   * One of `candidates` (never empty). `key` is the request's hash key for ring-hash;
   * without one ring-hash falls back to a weighted random pick, as Envoy does.
   */
  pick(candidates: readonly Endpoint[], key?: string): Endpoint
}

export interface BalancerOptions {
  /** A uniform number in [0, 1); injectable so tests can be exact. */
  random?: () => number
}

/** A balancer for one endpoint set; ring-hash builds its ring over all of `endpoints`. */
export function createBalancer(policy: LoadBalancingPolicy, endpoints: readonly Endpoint[], options: BalancerOptions = {}): Balancer {
  const random = options.random ?? Math.random
  switch (policy) {
    case 'round-robin':
      return createRoundRobin()
    case 'least-request':
      return createLeastRequest(random)
    case 'random':
      return createRandom(random)
    case 'ring-hash':
      return createRingHash(endpoints, random)
  }
}
