/**
 * The config holder: the one reference to the snapshot being served, and the only code
 * that replaces it. An offered config is verified with the ambassador's own pinned trust
 * (the control is not trusted for integrity), ratcheted (newer than the current one and
 * than the one persisted in the state store), compiled, swapped in one assignment, then
 * persisted. Any failure keeps the last-known-good and is recorded for /readyz, /config and
 * `legate_config_updates_total{result="rejected",reason}`. Offers apply one at a time, in
 * the order they arrive.
 * @module
 */
import { LegateError, isLegateError, type LegateErrorCode } from '../../protocol/errors.ts'
import type { TrustSet } from '../../protocol/keys.ts'
import { verifyConfig } from '../../protocol/envelope/verify.ts'
import type { VerifiedConfig } from '../../protocol/envelope/claims.ts'
import type { Platform } from '../platform.ts'
import type { LegateMetrics } from '../observe/legate-metrics.ts'
import type { Logger } from '../observe/access-log.ts'
import { compileSnapshot, originsOf, type Snapshot } from './snapshot.ts'

export interface ConfigError {
  code: LegateErrorCode
  message: string
  /** ISO 8601. */
  at: string
}

export type OfferResult = 'applied' | 'unchanged' | 'rejected'

export interface ConfigHolderOptions {
  trust: TrustSet
  mesh: string
  /** Signed-config size cap in bytes (CONTRACT §2, default 1 MiB). */
  maxBytes?: number
  platform: Pick<Platform, 'now' | 'state' | 'onOrigins'>
  metrics: LegateMetrics
  logger: Logger
}

export interface Readiness {
  ready: boolean
  reason?: string
  version?: number
  /** True when the config served is past its `exp`: it keeps serving, and says so. */
  expired?: boolean
  lastError?: ConfigError | null
}

export interface ConfigSummary {
  mesh: string
  version: number | null
  digest: string | null
  iss: string | null
  iat: number | null
  exp: number | null
  appliedAt: string | null
  expired: boolean
  lastError: ConfigError | null
}

export interface ConfigHolder {
  /** The snapshot to serve; read it once per request. */
  readonly current: Snapshot | undefined
  readonly lastError: ConfigError | null
  /** Verifies and applies a signed config. Never throws: a refusal is recorded and reported. */
  offer(jws: string, source: string): Promise<OfferResult>
  /** Serves the state store's last-known-good, even if expired (CONTRACT §5). True when one was applied. */
  restore(): Promise<boolean>
  /** Records a config refused before it could be offered (e.g. a file over the size cap). */
  refuse(err: unknown, source: string): void
  /** Records a failure to fetch a config (control unreachable, bad answer) without touching the snapshot. */
  noteSourceError(err: unknown): void
  /** Clears a source error once the source answers again. */
  noteSourceOk(): void
  readiness(): Readiness
  summary(): ConfigSummary
  /** Called after every swap. */
  onApply(listener: (snapshot: Snapshot) => void): void
}

const toError = (err: unknown, at: number): ConfigError =>
  isLegateError(err)
    ? { code: err.code, message: err.message, at: new Date(at).toISOString() }
    : { code: 'invalid_config', message: `config cannot be compiled: ${(err as Error)?.message ?? String(err)}`, at: new Date(at).toISOString() }

export function createConfigHolder(options: ConfigHolderOptions): ConfigHolder {
  const { trust, mesh, maxBytes, platform, metrics, logger } = options
  let current: Snapshot | undefined
  let lastError: ConfigError | null = null
  let sourceError: ConfigError | null = null
  /** The highest version ever persisted or restored: no rollback below it, even after a restart. */
  let persistedVer = 0
  let queue: Promise<unknown> = Promise.resolve()
  const listeners: Array<(s: Snapshot) => void> = []

  const reject = (err: unknown, source: string): OfferResult => {
    const e = toError(err, platform.now())
    lastError = e
    metrics.configUpdates.inc(['rejected', e.code])
    logger.warn('config rejected', { source, code: e.code, reason: e.message })
    return 'rejected'
  }

  const swap = (verified: VerifiedConfig, source: string) => {
    const snapshot = compileSnapshot(verified, platform.now(), current)
    current = snapshot
    metrics.configVersion.set([], verified.ver)
    metrics.configExpiry.set([], verified.exp)
    metrics.endpointHealthy.clear()
    for (const s of snapshot.services.values()) for (const e of s.endpoints) metrics.endpointHealthy.set([s.name, e.url], e.healthy ? 1 : 0)
    platform.onOrigins?.(originsOf(snapshot))
    for (const l of listeners) l(snapshot)
    logger.info('config applied', { source, version: verified.ver, digest: verified.digest, expired: verified.expired })
  }

  const persist = async (verified: VerifiedConfig) => {
    if (!platform.state) return
    try {
      await platform.state.save(verified.jws)
      persistedVer = Math.max(persistedVer, verified.ver)
    } catch (err) {
      logger.error('cannot persist last-known-good config', { error: (err as Error)?.message ?? String(err) })
    }
  }

  const apply = async (jws: string, source: string): Promise<OfferResult> => {
    let verified: VerifiedConfig
    try {
      // `previous`: routes unchanged since the config served are not validated again.
      verified = await verifyConfig(jws, { trust, mesh, maxBytes, now: platform.now(), previous: current?.verified ?? null })
      const floor = Math.max(current?.verified.ver ?? 0, persistedVer)
      if (current && verified.ver === current.verified.ver && verified.digest === current.verified.digest) return 'unchanged'
      if (verified.ver <= floor) {
        throw new LegateError('version_not_newer', `config version ${verified.ver} is not newer than ${current && current.verified.ver === floor ? 'the one served' : 'the one persisted'} (${floor})`)
      }
      swap(verified, source)
    } catch (err) {
      return reject(err, source)
    }
    lastError = null
    metrics.configUpdates.inc(['applied', ''])
    await persist(verified)
    return 'applied'
  }

  const serialized = <T>(work: () => Promise<T>): Promise<T> => {
    const run = queue.then(work, work)
    queue = run.catch(() => {})
    return run
  }

  return {
    get current() {
      return current
    },
    get lastError() {
      return lastError ?? sourceError
    },
    offer: (jws, source) => serialized(() => apply(jws, source)),
    restore: () =>
      serialized(async () => {
        if (!platform.state) return false
        let jws: string | undefined
        try {
          jws = await platform.state.load()
        } catch (err) {
          logger.warn('cannot read persisted config', { error: (err as Error)?.message ?? String(err) })
          return false
        }
        if (!jws) return false
        try {
          const verified = await verifyConfig(jws, { trust, mesh, maxBytes, now: platform.now(), allowExpired: true, previous: current?.verified ?? null })
          persistedVer = Math.max(persistedVer, verified.ver)
          if (current && current.verified.ver >= verified.ver) return false
          swap(verified, 'state')
          metrics.configUpdates.inc(['applied', ''])
          return true
        } catch (err) {
          reject(err, 'state')
          return false
        }
      }),
    refuse(err, source) {
      reject(err, source)
    },
    noteSourceError(err) {
      sourceError = toError(err, platform.now())
    },
    noteSourceOk() {
      sourceError = null
    },
    readiness() {
      const err = lastError ?? sourceError
      if (!current) return { ready: false, reason: err ? `${err.code}: ${err.message}` : 'no config applied yet', lastError: err }
      const expired = current.verified.exp * 1000 < platform.now()
      const out: Readiness = { ready: true, version: current.verified.ver, expired, lastError: err }
      if (expired) out.reason = `expired: config version ${current.verified.ver} expired at ${new Date(current.verified.exp * 1000).toISOString()}; still serving it`
      else if (err) out.reason = `serving version ${current.verified.ver}; last update failed: ${err.code}: ${err.message}`
      return out
    },
    summary() {
      const v = current?.verified
      return {
        mesh,
        version: v?.ver ?? null,
        digest: v?.digest ?? null,
        iss: v?.iss ?? null,
        iat: v?.iat ?? null,
        exp: v?.exp ?? null,
        appliedAt: current ? new Date(current.appliedAt).toISOString() : null,
        expired: v ? v.exp * 1000 < platform.now() : false,
        lastError: lastError ?? sourceError,
      }
    },
    onApply(listener) {
      listeners.push(listener)
    },
  }
}
