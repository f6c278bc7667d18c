/**
 * The policy stages of the chain (identity, authorization, rate limit, CORS) built from
 * the ambassador's options, with their metrics in the ambassador's registry:
 *
 * - `legate_authz_decisions_total{policy,decision}`: decisions made by a policy
 *   (`policy=""` when ALLOW policies exist and none matched);
 * - `legate_rate_limited_total{policy}`: requests refused by a rate limit policy;
 * - `legate_ratelimit_store_errors_total{policy,mode}`: a global store failed, the
 *   policy's failure mode (`open`/`closed`) answered;
 * - `legate_identity_refused_total{code}`: presented identity tokens refused.
 * @module
 */
import type { JWK } from 'jose'
import { importSigningKey } from '../../protocol/keys.ts'
import { LegateError } from '../../protocol/errors.ts'
import { createIdentityMinter, type IdentityMinter } from '../../protocol/identity/mint.ts'
import type { MetricsRegistry } from '../observe/metrics.ts'
import type { ChainStages } from '../filters/chain.ts'
import { identityStage } from '../filters/identity.ts'
import { authzStage } from '../filters/authz.ts'
import { rateLimitStage } from '../filters/rate-limit.ts'
import { corsStage } from '../filters/cors.ts'
import type { GlobalLimiter } from './global-limiter.ts'

export interface PolicyStagesOptions {
  registry: MetricsRegistry
  /** This node's service: the `iss` of its identity tokens. */
  service?: string
  /** The service's private workload JWK (`--identity-key`): outbound requests then carry tokens. */
  identityKey?: unknown
  /** The shared store for `scope: global` rate limits (`--ratelimit-store`). */
  rateLimitStore?: GlobalLimiter
  /** Keys remembered per local rate limit policy (default 100 000). */
  maxRateLimitKeys?: number
}

export function createPolicyStages(options: PolicyStagesOptions): ChainStages {
  const { registry } = options
  const decisions = registry.counter('legate_authz_decisions_total', 'Authorization decisions made by a policy, by policy and decision (allow, deny).', ['policy', 'decision'])
  const limited = registry.counter('legate_rate_limited_total', 'Requests refused by a rate limit policy.', ['policy'])
  const storeErrors = registry.counter('legate_ratelimit_store_errors_total', 'Global rate limit store failures, by policy and the failure mode that answered.', ['policy', 'mode'])
  const refused = registry.counter('legate_identity_refused_total', 'Presented identity tokens refused, by reason (a CONTRACT §2 code).', ['code'])

  const minter = options.identityKey === undefined ? undefined : lazyMinter(options.identityKey, options.service)
  return {
    identity: identityStage({ ...(minter ? { minter } : {}), onRefused: (err) => refused.inc([err.code]) }),
    authz: authzStage({ onDecision: (_service, d) => decisions.inc([d.policy ?? '', d.allowed ? 'allow' : 'deny']) }),
    rateLimit: rateLimitStage({
      ...(options.rateLimitStore ? { global: options.rateLimitStore } : {}),
      ...(options.maxRateLimitKeys === undefined ? {} : { maxKeys: options.maxRateLimitKeys }),
      onLimited: (_service, v) => limited.inc([v.policy ?? '']),
      onStoreError: (policy, mode) => storeErrors.inc([policy, mode]),
    }),
    cors: corsStage(),
  }
}

/**
 * A minter whose key is imported on first use (the ambassador is built synchronously).
 * The JWK's shape is checked now, so a wrong file fails at start, not on a request.
 */
function lazyMinter(jwk: unknown, service: string | undefined): IdentityMinter {
  const k = jwk as JWK | null
  if (k === null || typeof k !== 'object' || k.kty !== 'OKP' || k.crv !== 'Ed25519' || typeof k.d !== 'string' || typeof k.kid !== 'string') {
    throw new LegateError('malformed', 'the identity key must be a private Ed25519 JWK with a kid (legate keygen --alg EdDSA)')
  }
  if (!service) throw new TypeError('an identity key needs a service: the service its tokens speak for')
  let inner: Promise<IdentityMinter> | undefined
  const get = () => (inner ??= importSigningKey(k, 'identity key').then((key) => createIdentityMinter({ service, key })))
  let ready: IdentityMinter | undefined
  void get().then((m) => (ready = m), () => {})
  return {
    service,
    kid: k.kid,
    get signatures() {
      return ready?.signatures ?? 0
    },
    token: (destination) => (ready ? ready.token(destination) : get().then((m) => m.token(destination))),
  }
}
