/**
 * The identity stage (CONTRACT §5), first of the policy stages.
 *
 * Inbound and gateway: a presented `legate-identity` token is verified against the
 * workload keys of the request's config snapshot, with the request's service as the
 * audience. Valid: `ex.source` is the caller, and the chain sends it upstream as
 * `x-legate-source`. Invalid (bad signature, wrong audience, expired, unknown or removed
 * key): 401 `unauthenticated`. Absent: the caller is unauthenticated and authorization
 * decides. The chain drops both headers from every upstream request, so neither a
 * client's `x-legate-source` nor a token reaches the app.
 *
 * Outbound (and gateway, after the check above): with a workload key, the request gets
 * this service's token for the destination (`ex.upstreamSet`), minted once per
 * destination and renewed before expiry.
 *
 * One verifier per snapshot: a key removed by a new config version is unknown as soon as
 * that version applies, and its cached tokens go with the old snapshot.
 *
 * @example
 * createChain({ ..., stages: { identity: identityStage({ minter }) } })
 * @module
 */
import { IDENTITY_HEADER } from '../../protocol/identity/claims.ts'
import { createIdentityVerifier, type IdentityVerifier, type IdentityVerifierOptions } from '../../protocol/identity/verify.ts'
import type { IdentityMinter } from '../../protocol/identity/mint.ts'
import { LegateError } from '../../protocol/errors.ts'
import type { Snapshot } from '../config/snapshot.ts'
import type { Exchange } from '../exchange.ts'
import { localReply } from '../local-reply.ts'
import type { Stage, StageFactory } from './chain.ts'
import type { RequestContext } from '../platform.ts'

export interface IdentityStageOptions {
  /** This service's token minter (from `--identity-key`); without one, outbound requests carry no token. */
  minter?: IdentityMinter
  verifier?: IdentityVerifierOptions
  /** Told about every refused token, with its code (a counter). */
  onRefused?: (error: LegateError) => void
}

export function identityStage(options: IdentityStageOptions = {}): StageFactory {
  const verifiers = new WeakMap<Snapshot, IdentityVerifier>()
  const verifierFor = (snapshot: Snapshot) => {
    let v = verifiers.get(snapshot)
    if (!v) verifiers.set(snapshot, (v = createIdentityVerifier(snapshot.verified.config.services, options.verifier)))
    return v
  }
  return (snapshot, direction) => {
    if (direction === 'outbound') return outboundStage(options.minter)
    const verify = inboundStage(verifierFor(snapshot), options)
    const mint = direction === 'gateway' ? outboundStage(options.minter) : undefined
    if (!mint) return verify
    // A gateway is itself the caller of the service it routes to: after checking a presented
    // token (for its own policies), it sends its own token upstream, never the client's.
    return async (ex, c) => (await verify(ex, c)) ?? (await mint(ex, c))
  }
}

function inboundStage(verifier: IdentityVerifier, options: IdentityStageOptions): Stage {
  return async (ex: Exchange, c: RequestContext) => {
    // The chain drops both headers from what goes upstream and sends `x-legate-source`
    // from `ex.source` alone; here the token is only read.
    const token = ex.headers.get(IDENTITY_HEADER)
    if (token === null) return undefined
    try {
      if (!ex.service) throw new LegateError('unauthenticated', 'the request is for no service, so no token can be for it')
      ex.source = (await verifier.verify(token, ex.service)).service
      return undefined
    } catch (err) {
      if (!(err instanceof LegateError)) throw err
      options.onRefused?.(err)
      ex.reason = 'unauthenticated'
      return localReply('unauthenticated', `legate-identity refused (${err.code}): ${err.message}`)
    }
  }
}

function outboundStage(minter: IdentityMinter | undefined): Stage | undefined {
  if (!minter) return undefined
  return async (ex: Exchange) => {
    if (!ex.service) return undefined
    // The chain drops whatever the app put in the identity headers; this is the only token sent.
    ex.upstreamSet = [IDENTITY_HEADER, await minter.token(ex.service)]
    return undefined
  }
}
