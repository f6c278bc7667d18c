/**
 * A weighted random pick: the shared step of random, least-request and ring-hash (when a
 * request has no hash key).
 * @module
 */
import type { Endpoint } from './endpoint-set.ts'

export function weightedPick(candidates: readonly Endpoint[], random: () => number): Endpoint {
  if (candidates.length === 1) return candidates[0]!
  let total = 0
  for (const e of candidates) total += e.weight
  let r = random() * total
  for (const e of candidates) {
    r -= e.weight
    if (r < 0) return e
  }
  return candidates[candidates.length - 1]!
}
