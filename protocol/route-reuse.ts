/**
 * Routes carried over from the config a new version replaces. An ambassador applies version
 * after version, and most routes do not change between two: a route whose JSON text equals
 * one of the previous version's takes the parsed form that one had, and is not validated
 * again (at 10,000 routes, validating them is most of the time to apply a config).
 *
 * "Equal" is byte for byte (`JSON.stringify` of the route as received, which a JSON document
 * determines), and only the routes of a config that passed are remembered. Everything that
 * concerns the whole document still runs over every route of every version: the checks that
 * backendRefs name services that exist, that route names are unique, and the rest.
 * @module
 */
import { z } from 'zod'

export interface RouteReuse {
  /** The previous version's parsed routes by JSON text, if it remembered them. */
  readonly previous: ReadonlyMap<string, unknown> | undefined
  /** Filled during the parse: this version's parsed routes by JSON text. */
  readonly next: Map<string, unknown>
}

// In force for exactly one parse: zod parses synchronously, so nothing else runs meanwhile.
let active: RouteReuse | undefined

/** Runs `parse` with `reuse` in force for the routes it parses. */
export function withRouteReuse<T>(reuse: RouteReuse, parse: () => T): T {
  active = reuse
  try {
    return parse()
  } finally {
    active = undefined
  }
}

/**
 * The schema of one route for the `routes` list: zod's generated parser (`z.compile`, built on
 * first use), which consults the reuse in force, if any. A route it cannot take, or one that
 * does not pass, goes to zod's runtime parser, so issues and their paths are zod's own.
 */
export function reusableRoute<T extends z.ZodType>(schema: T): z.ZodLazy<T> {
  let element: T | undefined
  const build = (): T => {
    const compiled = z.compile(schema)
    const parse = (input: unknown): z.output<T> | typeof z.INVALID => {
      const r = compiled.safeParse(input)
      return r.success ? r.data : z.INVALID
    }
    return z.withParser(compiled, (input) => {
      const reuse = active
      if (reuse === undefined) return parse(input)
      const key = JSON.stringify(input)
      const known = reuse.previous?.get(key) as z.output<T> | undefined
      const route = known ?? parse(input)
      if (route !== z.INVALID) reuse.next.set(key, route)
      return route
    })
  }
  return z.lazy(() => (element ??= build()))
}
