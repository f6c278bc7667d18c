/**
 * Ring-hash (consistent hashing, ketama-like): each endpoint owns points on a 32-bit ring
 * in proportion to its weight, and a key goes to the first point at or after its hash.
 * Adding one endpoint of n+1 takes about 1/(n+1) of the keys and moves no others; an
 * ejected endpoint's keys walk on to the next point, and come back when it returns.
 * @module
 */
import type { Balancer } from './balancer.ts'
import { weightedPick } from './weighted-pick.ts'
import type { Endpoint } from './endpoint-set.ts'
import { hash32 } from './hash.ts'

/**
 * Points per endpoint of average weight. The share of keys an endpoint gets deviates from
 * its weight by about 1/sqrt(points): 1000 keeps that near 3%, so adding one endpoint of
 * ten moves close to the ideal 9.1% of keys rather than 10–12%.
 */
const POINTS_PER_ENDPOINT = 1000
const MIN_RING = 1024
const MAX_RING = 65_536

export function createRingHash(endpoints: readonly Endpoint[], random: () => number): Balancer {
  const size = Math.min(MAX_RING, Math.max(MIN_RING, POINTS_PER_ENDPOINT * endpoints.length))
  let total = 0
  for (const e of endpoints) total += e.weight
  const points: { hash: number; endpoint: Endpoint }[] = []
  for (const e of endpoints) {
    const n = Math.max(1, Math.round((size * e.weight) / total))
    for (let i = 0; i < n; i++) points.push({ hash: hash32(`${e.url}#${i}`), endpoint: e })
  }
  points.sort((x, y) => x.hash - y.hash)
  const hashes = Uint32Array.from(points, (p) => p.hash)
  const owners = points.map((p) => p.endpoint)

  /** Index of the first point with hash ≥ h, wrapping to 0 past the end. */
  function firstAtOrAfter(h: number): number {
    let lo = 0
    let hi = hashes.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (hashes[mid]! < h) lo = mid + 1
      else hi = mid
    }
    return lo === hashes.length ? 0 : lo
  }

  return {
    pick(candidates, key) {
      if (key === undefined || owners.length === 0) return weightedPick(candidates, random)
      const start = firstAtOrAfter(hash32(key))
      const all = candidates.length === endpoints.length
      const allowed = all ? undefined : new Set(candidates)
      // Bounded walk: at most once around the ring.
      for (let i = 0; i < owners.length; i++) {
        const owner = owners[(start + i) % owners.length]!
        if (allowed === undefined || allowed.has(owner)) return owner
      }
      // Candidates that are not on this ring (cannot happen with one set) still get an answer.
      return weightedPick(candidates, random)
    },
  }
}
