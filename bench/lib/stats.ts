/** Median, spread and percentiles. @module */

export function median(xs: number[]): number {
  if (xs.length === 0) return NaN
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

/** (max − min) / median, as a fraction: the spread between rounds. */
export function spread(xs: number[]): number {
  if (xs.length < 2) return 0
  const m = median(xs)
  return m ? (Math.max(...xs) - Math.min(...xs)) / m : 0
}

/** The p-th percentile (0..100) of a sorted array, nearest-rank. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN
  const rank = Math.ceil((p / 100) * sorted.length)
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!
}

export function round(x: number, digits = 2): number {
  if (!Number.isFinite(x)) return x
  const f = 10 ** digits
  return Math.round(x * f) / f
}
