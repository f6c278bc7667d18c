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

export function compileRule(route: string, index: number, rule: RouteRule): CompiledRule {
  const compiled: { -readonly [K in keyof CompiledRule]: CompiledRule[K] } = {
    route,
    index,
    rule,
    pickBackend: createWeightedPicker(rule.backendRefs),
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
