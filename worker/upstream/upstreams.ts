/**
 * The upstream side of one config version: a `ServiceUpstream` per service, built from the
 * previous version's so endpoint state, retry budgets and unchanged breakers carry over.
 * Services that left the config have their health checks stopped.
 * @module
 */
import type { ServiceConfig } from '../../protocol/schema.ts'
import { createServiceUpstream, type ServiceUpstream, type ServiceUpstreamOptions } from './service-upstream.ts'

export type Upstreams = ReadonlyMap<string, ServiceUpstream>

export function createUpstreams(
  services: readonly ServiceConfig[],
  previous: Upstreams | undefined,
  options: Omit<ServiceUpstreamOptions, 'previous'> = {},
): Upstreams {
  const next = new Map<string, ServiceUpstream>()
  for (const s of services) next.set(s.name, createServiceUpstream(s, { ...options, previous: previous?.get(s.name) }))
  for (const [name, old] of previous ?? []) if (!next.has(name)) old.stop()
  return next
}

/** Stops every health checker (shutdown). */
export function stopUpstreams(upstreams: Upstreams | undefined): void {
  for (const u of upstreams?.values() ?? []) u.stop()
}
