/**
 * The authorization stage: the request's config snapshot, compiled once into per-service
 * matchers, decides whether the verified caller (`ex.source`, set by the identity stage)
 * from this address may make this request to this service. Refused: 403 `forbidden`.
 * Enforced where the service is: inbound, and gateway mode for the routed service.
 *
 * @example
 * createChain({ ..., stages: { authz: authzStage({ onDecision: (d) => count(d) }) } })
 * @module
 */
import { parseIp, type IpAddress } from '../../protocol/cidr.ts'
import type { Snapshot } from '../config/snapshot.ts'
import { localReply } from '../local-reply.ts'
import { compileAuthorization, type AuthorizationDecision, type AuthorizationTable } from '../policy/authorization.ts'
import type { StageFactory } from './chain.ts'
import type { Exchange } from '../exchange.ts'

export interface AuthzStageOptions {
  /** Told about every decision a policy made (a per-policy counter); not called when no policy applies. */
  onDecision?: (service: string, decision: AuthorizationDecision) => void
}

export function authzStage(options: AuthzStageOptions = {}): StageFactory {
  const tables = new WeakMap<Snapshot, AuthorizationTable>()
  return (snapshot, direction) => {
    if (direction === 'outbound') return undefined
    let table = tables.get(snapshot)
    if (!table) tables.set(snapshot, (table = compileAuthorization(snapshot.verified.config.policies.authorization)))
    if (table.size === 0) return undefined
    const t = table
    // Keep-alive connections repeat their address: parse each one once (bounded; cleared when full).
    const addresses = new Map<string, IpAddress | undefined>()
    const ipOf = (client: string) => {
      let ip = addresses.get(client)
      if (ip === undefined && !addresses.has(client)) {
        if (addresses.size >= 4096) addresses.clear()
        addresses.set(client, (ip = parseIp(client)))
      }
      return ip
    }
    return (ex, c) => {
      if (!ex.service) return undefined
      // A browser's CORS preflight carries no credentials; on a rule with a CORS filter it is
      // answered by that filter (later in the chain) and never forwarded, as Envoy runs its
      // CORS filter before RBAC. Any other OPTIONS request is authorized as usual.
      if (ex.method === 'OPTIONS' && isCorsPreflightOfRule(ex)) return undefined
      const decision = t.decide(ex.service, {
        method: ex.method,
        path: ex.path,
        headers: ex.headers,
        source: ex.source,
        ip: ex.client ? ipOf(ex.client) : undefined,
      })
      if (decision.policy !== undefined || !decision.allowed) options.onDecision?.(ex.service, decision)
      if (decision.allowed) return undefined
      ex.reason = 'forbidden'
      return localReply('forbidden', decision.reason)
    }
  }
}

function isCorsPreflightOfRule(ex: Exchange): boolean {
  return ex.headers.get('origin') !== null && ex.headers.get('access-control-request-method') !== null && (ex.match?.rule.filters.some((f) => f.type === 'CORS') ?? false)
}
