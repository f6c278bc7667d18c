/**
 * The route filter `CORS` (Gateway API) as a chain stage: for a request whose matched rule
 * has a CORS filter, a preflight is answered here and never forwarded; any other request
 * with an Origin gets the rule's CORS response headers added on the way back.
 *
 * @example
 * createChain({ ..., stages: { cors: corsStage() } })
 * @module
 */
import type { CompiledRule } from '../route/types.ts'
import { compileCors, type CompiledCors } from '../policy/cors.ts'
import type { StageFactory } from './chain.ts'

export function corsStage(): StageFactory {
  // Compiled rules belong to one snapshot's table, so this cache lives and dies with it.
  const compiled = new WeakMap<CompiledRule, CompiledCors | null>()
  const corsOf = (rule: CompiledRule): CompiledCors | undefined => {
    let c = compiled.get(rule)
    if (c === undefined) {
      const filter = rule.filters.find((f) => f.type === 'CORS')
      c = filter?.type === 'CORS' ? compileCors(filter.cors) : null
      compiled.set(rule, c)
    }
    return c ?? undefined
  }
  return (snapshot) => {
    const anyCors = snapshot.verified.config.routes.some((r) => r.rules.some((rule) => rule.filters.some((f) => f.type === 'CORS')))
    if (!anyCors) return undefined
    return (ex, c) => {
      const rule = ex.match?.rule
      const policy = rule ? corsOf(rule) : undefined
      if (!policy) return undefined
      const preflight = policy.preflight(c.req.raw)
      if (preflight) return preflight
      const requestHeaders = c.req.raw.headers
      if (!requestHeaders.has('origin')) return undefined
      ;(ex.responseEdits ??= []).push((h) => policy.decorate(requestHeaders, h))
      return undefined
    }
  }
}
