/**
 * One rule of a route, compiled into what the app needs once the router chose it: the
 * weighted backend picker, timeouts, retry, and the filters this module owns as ready
 * functions. Built once per config version; frozen.
 * @module
 */
import { GRPC_STATUS_NAMES, type RouteRule } from '../../protocol/schema.ts'
import type { CompiledRule } from './types.ts'
import { createWeightedPicker } from './weighted-picker.ts'
import { headerModifier } from '../filters/header-modifier.ts'
import { urlRewrite } from '../filters/url-rewrite.ts'
import { requestRedirect } from '../filters/request-redirect.ts'

const NO_FILTERS: readonly never[] = Object.freeze([])
const NO_TIMEOUTS = Object.freeze({ request: 0, backendRequest: 0 })

/**
 * Pickers that keep no state, shared by every rule of one table that has them: most rules
 * of a large mesh send to one service, and a closure per rule would be most of its memory.
 */
export interface SharedPickers {
  /** The picker that always answers `service`. */
  only(service: string): () => string | undefined
}

export function createSharedPickers(): SharedPickers {
  const byName = new Map<string, () => string | undefined>()
  return {
    only(service) {
      let pick = byName.get(service)
      if (pick === undefined) {
        pick = () => service
        byName.set(service, pick)
      }
      return pick
    },
  }
}

/** The backend picker of a rule: shared when it has one live backend, smooth weighted round-robin otherwise. */
function pickerOf(refs: RouteRule['backendRefs'], shared: SharedPickers): () => string | undefined {
  let live: string | undefined
  for (const ref of refs) {
    if (!(ref.weight > 0)) continue
    if (live !== undefined) return createWeightedPicker(refs)
    live = ref.name
  }
  return live === undefined ? NO_BACKEND : shared.only(live)
}

const NO_BACKEND = (): string | undefined => undefined

export function compileRule(route: string, index: number, rule: RouteRule, shared: SharedPickers = createSharedPickers()): CompiledRule {
  const compiled: { -readonly [K in keyof CompiledRule]: CompiledRule[K] } = {
    route,
    index,
    rule,
    pickBackend: pickerOf(rule.backendRefs, shared),
    timeouts: rule.timeouts === undefined ? NO_TIMEOUTS : Object.freeze({ request: rule.timeouts.request ?? 0, backendRequest: rule.timeouts.backendRequest ?? 0 }),
    filters: rule.filters,
  }
  if (rule.retry !== undefined) {
    const grpc = rule.retry.grpcCodes ?? []
    compiled.retry = Object.freeze({
      attempts: rule.retry.attempts,
      codes: new Set(rule.retry.codes),
      ...(grpc.length > 0 ? { grpcCodes: new Set(grpc.map((name) => GRPC_STATUS_NAMES.indexOf(name))) } : {}),
      backoff: rule.retry.backoff,
    })
  }
  // The schema allows each of these filter types once per rule.
  for (const filter of rule.filters) {
    switch (filter.type) {
      case 'RequestHeaderModifier': {
        const edit = headerModifier(filter.requestHeaderModifier)
        if (edit) compiled.requestHeaders = edit
        break
      }
      case 'ResponseHeaderModifier': {
        const edit = headerModifier(filter.responseHeaderModifier)
        if (edit) compiled.responseHeaders = edit
        break
      }
      case 'URLRewrite':
        compiled.rewrite = urlRewrite(filter.urlRewrite)
        break
      case 'RequestRedirect':
        compiled.redirect = requestRedirect(filter.requestRedirect)
        break
      default:
        // RequestMirror, CORS and Fault belong to other modules; they read `filters`.
        break
    }
  }
  return Object.freeze(compiled)
}

/** The implicit route of a service (CONTRACT §1): every request to its host goes to it, unfiltered. */
export function implicitRule(service: string): CompiledRule {
  return Object.freeze({
    route: service,
    index: -1,
    rule: undefined,
    pickBackend: () => service,
    timeouts: NO_TIMEOUTS,
    filters: NO_FILTERS,
  })
}
