/**
 * The upstream step of the chain: pick an endpoint of the chosen service and forward one
 * attempt through the platform. This is the one place the balancer, circuit breaker,
 * retry policy and passive health plug in; the chain only calls `send`.
 * @module
 */
import { LegateError } from '../../protocol/errors.ts'
import type { Platform, UpstreamRequest, UpstreamResult, RequestContext } from '../platform.ts'
import type { Exchange } from '../exchange.ts'
import type { ServiceEndpoints } from './endpoints.ts'

export interface SendTarget {
  service: ServiceEndpoints
  /** Everything of the upstream request but the origin, which `send` picks. */
  request: Omit<UpstreamRequest, 'origin'>
}

export type Send = (c: RequestContext, ex: Exchange, target: SendTarget) => Promise<UpstreamResult>

export function createSend(platform: Pick<Platform, 'forward'>): Send {
  return async (c, ex, { service, request }) => {
    const endpoint = service.pick()
    if (!endpoint) throw new LegateError('no_healthy_upstream', `service "${service.name}" has no healthy endpoint`)
    ex.endpoint = endpoint.url
    endpoint.active++
    const req = request as UpstreamRequest
    req.origin = endpoint.url
    try {
      const result = await platform.forward(c, req)
      result.done.then(
        () => endpoint.active--,
        () => endpoint.active--,
      )
      return result
    } catch (err) {
      endpoint.active--
      throw err
    }
  }
}
