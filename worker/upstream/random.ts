/**
 * Weighted random: each pick independent, an endpoint chosen in proportion to its weight.
 * No shared state, so it is the policy of choice when many ambassadors front one service.
 * @module
 */
import type { Balancer } from './balancer.ts'
import { weightedPick } from './weighted-pick.ts'

export function createRandom(random: () => number): Balancer {
  return { pick: (candidates) => weightedPick(candidates, random) }
}
