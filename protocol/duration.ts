/**
 * Gateway API durations (GEP-2257): one to four `<number><unit>` parts, units h, m, s, ms,
 * each number up to five digits (`500ms`, `2s`, `1m`, `1h30m`). `0s` means zero.
 * @module
 */

export const DURATION_RE = /^([0-9]{1,5}(h|m|s|ms)){1,4}$/
const PART_RE = /([0-9]{1,5})(ms|h|m|s)/g
const UNIT_MS: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1_000, ms: 1 }

export const isDuration = (text: string): boolean => DURATION_RE.test(text)

/** Milliseconds in a Gateway API duration, or `undefined` when the text is not one. */
export function parseDuration(text: string): number | undefined {
  if (!DURATION_RE.test(text)) return undefined
  let total = 0
  for (const [, amount, unit] of text.matchAll(PART_RE)) total += Number(amount) * UNIT_MS[unit!]!
  return total
}

/** The shortest Gateway API form of a millisecond count (`1500` → `1s500ms`). */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s'
  let rest = Math.round(ms)
  let out = ''
  for (const unit of ['h', 'm', 's', 'ms'] as const) {
    const size = UNIT_MS[unit]!
    const n = Math.floor(rest / size)
    if (n > 0) out += `${n}${unit}`
    rest -= n * size
  }
  return out
}
