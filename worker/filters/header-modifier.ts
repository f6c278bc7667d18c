/**
 * RequestHeaderModifier and ResponseHeaderModifier (Gateway API HTTPHeaderFilter), compiled
 * once per config into a function that edits a `Headers` in place. Header names compare
 * case-insensitively (that is how `Headers` works).
 *
 * Order: remove, then set, then add, as Envoy applies them, so a config that both removes
 * and sets one name ends with the set value rather than with nothing.
 *
 * @example
 * const edit = headerModifier({ set: [{ name: 'x-env', value: 'prod' }], add: [], remove: ['x-debug'] })
 * edit(request.headers)
 * @module
 */
import type { RouteFilter } from '../../protocol/schema.ts'

export type HeaderModifierConfig = Extract<RouteFilter, { type: 'RequestHeaderModifier' }>['requestHeaderModifier']

/** A function applying the modifier, or undefined when it changes nothing. */
export function headerModifier(config: HeaderModifierConfig): ((headers: Headers) => void) | undefined {
  const remove = [...config.remove]
  const set = config.set.map((h) => [h.name, h.value] as const)
  const add = config.add.map((h) => [h.name, h.value] as const)
  if (remove.length + set.length + add.length === 0) return undefined
  return (headers) => {
    for (const name of remove) headers.delete(name)
    for (const [name, value] of set) headers.set(name, value)
    // Headers.append joins with ", " on read, which is how HTTP defines repeated fields.
    for (const [name, value] of add) headers.append(name, value)
  }
}
