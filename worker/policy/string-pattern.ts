/**
 * Istio's string match for paths, methods and header values: `*` (anything non-empty
 * is not required: Istio's `*` matches any value, even empty), `prefix*`, `*suffix`, or
 * exact. A list compiles to one predicate that checks the exact set first.
 * @module
 */

export type StringPredicate = (value: string) => boolean

export function compileStringPatterns(patterns: readonly string[]): StringPredicate {
  const exact = new Set<string>()
  const prefixes: string[] = []
  const suffixes: string[] = []
  for (const p of patterns) {
    if (p === '*') return () => true
    if (p.endsWith('*')) prefixes.push(p.slice(0, -1))
    else if (p.startsWith('*')) suffixes.push(p.slice(1))
    else exact.add(p)
  }
  if (prefixes.length === 0 && suffixes.length === 0) return (v) => exact.has(v)
  return (v) => {
    if (exact.has(v)) return true
    for (const p of prefixes) if (v.startsWith(p)) return true
    for (const s of suffixes) if (v.endsWith(s)) return true
    return false
  }
}
