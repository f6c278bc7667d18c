/**
 * Least-request by the power of two random choices: draw two candidates (by weight), send
 * to the one with fewer requests in flight per unit of weight. Two draws avoid the herd
 * that "global least" causes when many clients see the same idle endpoint, and still
 * steer clear of a slow one (Mitzenmacher; Envoy's and Linkerd's default).
 * @module
 */
import type { Balancer } from './balancer.ts'
import { weightedPick } from './weighted-pick.ts'

export function createLeastRequest(random: () => number): Balancer {
  return {
    pick(candidates) {
      const a = weightedPick(candidates, random)
      if (candidates.length === 1) return a
      let b = weightedPick(candidates, random)
      // A second draw of the same endpoint would make this plain random; redraw a few times.
      for (let i = 0; i < 3 && b === a; i++) b = weightedPick(candidates, random)
      // Compare active/weight without division: a.active × b.weight vs b.active × a.weight.
      return b.active * a.weight < a.active * b.weight ? b : a
    },
  }
}
