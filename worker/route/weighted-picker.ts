/**
 * Weighted choice among a rule's backendRefs by smooth weighted round-robin (the nginx
 * algorithm): exact proportions over every cycle of `sum(weights)` picks and the picks of
 * each backend spread evenly through the cycle (90/10 sends one request in every ten to the
 * canary, never ten in a row), with no random source to seed or mock.
 * @module
 */

export interface WeightedRef {
  readonly name: string
  readonly weight: number
}

/** A picker over the refs with weight > 0; it answers undefined when there is none. */
export function createWeightedPicker(refs: readonly WeightedRef[]): () => string | undefined {
  const live = refs.filter((r) => r.weight > 0)
  const first = live[0]
  if (first === undefined) return () => undefined
  if (live.length === 1) {
    const only = first.name
    return () => only
  }
  const names = live.map((r) => r.name)
  // Plain arrays, not typed ones: a config with thousands of split rules would otherwise
  // allocate thousands of external backing stores and make compiling GC-bound.
  const weights = live.map((r) => r.weight)
  const current = live.map(() => 0)
  let total = 0
  for (const w of weights) total += w
  return () => {
    let best = 0
    for (let i = 0; i < weights.length; i++) {
      current[i]! += weights[i]!
      if (current[i]! > current[best]!) best = i
    }
    current[best]! -= total
    return names[best]
  }
}
