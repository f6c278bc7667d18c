/**
 * Routes carried over from the config a new version replaces. An ambassador applies version
 * after version, and most routes do not change between two: a route equal to the previous
 * version's route of the same name takes the parsed form that one had, and is not validated
 * again (at 10,000 routes, validating them is most of the time to apply a config).
 *
 * "Equal" compares the routes as received (JSON values: the same members with the same
 * values; equal inputs parse to equal outputs), so a version keeps its routes as received
 * until the next one: that is what the caller must not change (verifyConfig's are its own),
 * and about the memory the routes took as JSON. Only the routes of a config that passed are
 * remembered. Everything that concerns the whole document still runs over every route of
 * every version: the checks that backendRefs name services that exist, that route names are
 * unique, and the rest. Comparing values costs a walk of both routes; the alternative, a key
 * such as the route's JSON text, costs building and hashing that text, and at 100,000 routes
 * that is as much as validating them.
 * @module
 */
import * as z from 'zod/mini'

/** One version's routes, as received and as parsed, in document order. */
export interface KnownRoutes {
  readonly received: readonly unknown[]
  readonly parsed: readonly unknown[]
}

export interface RouteReuse {
  /** The previous version's routes, if it remembered them. */
  readonly previous: KnownRoutes | undefined
  /** Filled during the parse: this version's routes. */
  readonly next: { received: unknown[]; parsed: unknown[] }
}

// In force for exactly one parse: zod parses synchronously, so nothing else runs meanwhile.
let active: { reuse: RouteReuse; byName: Map<unknown, number> | undefined } | undefined

/** Runs `parse` with `reuse` in force for the routes it parses. */
export function withRouteReuse<T>(reuse: RouteReuse, parse: () => T): T {
  active = { reuse, byName: undefined }
  try {
    return parse()
  } finally {
    active = undefined
  }
}

/** The previous version's route of this one's name: usually at the same place, else looked up. */
function previousOf(state: NonNullable<typeof active>, input: unknown): number {
  const previous = state.reuse.previous!.received
  const name = (input as { name?: unknown } | null)?.name
  const at = state.reuse.next.received.length
  if (at < previous.length && (previous[at] as { name: unknown }).name === name) return at
  if (state.byName === undefined) {
    state.byName = new Map()
    for (let i = 0; i < previous.length; i++) state.byName.set((previous[i] as { name: unknown }).name, i)
  }
  return state.byName.get(name) ?? -1
}

/** Equality of JSON values: the same members (in any order) with equal values. */
export function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false
    for (let i = 0; i < a.length; i++) if (!sameJson(a[i], b[i])) return false
    return true
  }
  if (Array.isArray(b)) return false
  const keys = Object.keys(a)
  if (keys.length !== Object.keys(b).length) return false
  for (const key of keys) {
    if (!Object.prototype.hasOwnProperty.call(b, key) || !sameJson((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key])) return false
  }
  return true
}

/**
 * The schema of one route for the `routes` list: zod's generated parser (`z.compile`, built on
 * first use), which consults the reuse in force, if any. A route it cannot take, or one that
 * does not pass, goes to zod's runtime parser, so issues and their paths are zod's own.
 */
export function reusableRoute<T extends z.ZodMiniType>(schema: T): z.ZodMiniLazy<T> {
  let element: T | undefined
  const build = (): T => {
    const compiled = z.compile(schema)
    const parse = (input: unknown): z.output<T> | typeof z.INVALID => {
      const r = compiled.safeParse(input)
      return r.success ? r.data : z.INVALID
    }
    return z.withParser(compiled, (input) => {
      const state = active
      if (state === undefined) return parse(input)
      const { previous, next } = state.reuse
      const at = previous === undefined ? -1 : previousOf(state, input)
      const route = at >= 0 && sameJson(input, previous!.received[at]) ? (previous!.parsed[at] as z.output<T>) : parse(input)
      if (route !== z.INVALID) {
        next.received.push(input)
        next.parsed.push(route)
      }
      return route
    })
  }
  return z.lazy(() => (element ??= build()))
}
