/**
 * Smooth weighted round-robin, nginx's algorithm: every pick adds each candidate's weight
 * to its running score, takes the highest, and takes the total off the winner. Weights
 * 5:1:1 give a a b a c a a rather than a a a a a b c, so a heavy endpoint never gets a
 * burst. A candidate left out (ejected, excluded) simply does not score that round.
 * @module
 */
import type { Balancer } from './balancer.ts'
import type { Endpoint } from './endpoint-set.ts'

export function createRoundRobin(): Balancer {
  const score = new Map<Endpoint, number>()
  return {
    pick(candidates) {
      if (candidates.length === 1) return candidates[0]!
      let total = 0
      let best: Endpoint | undefined
      let bestScore = -Infinity
      for (const e of candidates) {
        const s = (score.get(e) ?? 0) + e.weight
        score.set(e, s)
        total += e.weight
        if (s > bestScore) {
          bestScore = s
          best = e
        }
      }
      score.set(best!, bestScore - total)
      return best!
    },
  }
}
