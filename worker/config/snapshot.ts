/**
 * Everything one config version needs at request time, built once and never mutated
 * afterwards (endpoint health aside): the verified config, its compiled route table and
 * the endpoint state per service. A swap is one reference assignment, so a request that
 * read the snapshot once finishes on it even when a newer one lands meanwhile.
 * @module
 */
import type { VerifiedConfig } from '../../protocol/envelope/claims.ts'
import { compileRoutes } from '../route/compile.ts'
import type { RouteTable } from '../route/types.ts'
import { createServiceEndpoints, type ServiceEndpoints } from '../upstream/endpoints.ts'

export interface Snapshot {
  readonly verified: VerifiedConfig
  readonly table: RouteTable
  readonly services: ReadonlyMap<string, ServiceEndpoints>
  /** ms since the epoch. */
  readonly appliedAt: number
}

/** Compiles a verified config; throws (a config the schema allowed but routing cannot use) → `invalid_config`. */
export function compileSnapshot(verified: VerifiedConfig, appliedAt: number, previous?: Snapshot): Snapshot {
  // Routes the parse carried over from the previous version keep their host tables.
  const table = compileRoutes(verified.config, { previous: previous?.table ?? null })
  const services = new Map<string, ServiceEndpoints>()
  for (const service of verified.config.services) services.set(service.name, createServiceEndpoints(service, previous?.services.get(service.name)))
  return { verified, table, services, appliedAt }
}

/** Every endpoint origin the snapshot may forward to. */
export function originsOf(snapshot: Snapshot | undefined): Set<string> {
  const out = new Set<string>()
  for (const s of snapshot?.services.values() ?? []) for (const e of s.endpoints) out.add(e.url)
  return out
}
