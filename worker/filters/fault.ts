/**
 * The route filter `Fault` (delay and abort by percent, as Envoy's fault filter and Istio's
 * HTTPFaultInjection): a chosen share of requests waits `fixedDelay` before going on, and a
 * chosen share is answered with `status` instead of being forwarded. Delay comes first, so
 * an aborted request can be delayed too, as in Envoy. The draws are independent.
 *
 * @example
 * createChain({ ..., stages: { fault: faultStage() } })
 * @module
 */
import type { RouteFilter } from '../../protocol/schema.ts'
import type { CompiledRule } from '../route/types.ts'
import type { StageFactory } from './chain.ts'

export type FaultConfig = Extract<RouteFilter, { type: 'Fault' }>['fault']

export interface FaultOptions {
  random?: () => number
  /** Waits `ms`, or less when `signal` aborts. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>
}

/** Returns the abort response, or undefined to let the request through (after any delay). */
export type Fault = (signal?: AbortSignal) => Promise<Response | undefined>

const sleepFor = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms)
    signal?.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true })
  })

/** Percent as a draw: `percent` of 100 in [0, 100), so 0 never and 100 always fires. */
const draw = (percent: number, random: () => number) => percent > 0 && random() * 100 < percent

export function createFault(config: FaultConfig, options: FaultOptions = {}): Fault {
  const random = options.random ?? Math.random
  const sleep = options.sleep ?? sleepFor
  const { delay, abort } = config
  return async (signal) => {
    if (delay && delay.fixedDelay > 0 && draw(delay.percent, random)) await sleep(delay.fixedDelay, signal)
    if (abort && draw(abort.percent, random)) {
      return new Response('fault filter abort', { status: abort.status, headers: { 'content-type': 'text/plain', 'x-legate-fault': 'abort' } })
    }
    return undefined
  }
}

/** The chain stage: runs the matched rule's Fault filter, if it has one. */
export function faultStage(options: FaultOptions = {}): StageFactory {
  const compiled = new WeakMap<CompiledRule, Fault | null>()
  const faultOf = (rule: CompiledRule): Fault | undefined => {
    let f = compiled.get(rule)
    if (f === undefined) {
      const filter = rule.filters.find((x) => x.type === 'Fault')
      f = filter?.type === 'Fault' ? createFault(filter.fault, options) : null
      compiled.set(rule, f)
    }
    return f ?? undefined
  }
  return (snapshot, direction) => {
    if (direction === 'inbound') return undefined
    const any = snapshot.verified.config.routes.some((r) => r.rules.some((rule) => rule.filters.some((f) => f.type === 'Fault')))
    if (!any) return undefined
    return (ex, c) => {
      const fault = ex.match ? faultOf(ex.match.rule) : undefined
      return fault ? fault(c.req.raw.signal) : undefined
    }
  }
}
