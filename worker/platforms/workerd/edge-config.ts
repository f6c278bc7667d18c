/**
 * The config of an edge isolate. Verification (≈150 µs of JWS + schema per 10 KB) runs once
 * per config version per isolate: a config is known by its digest, and a digest seen before
 * (applied or refused) is never verified again. The source is re-read at most every
 * `refreshMs`, in the background (`waitUntil`) so no request waits for it, except the
 * isolate's first. Rollback: the holder's ratchet refuses anything not newer than what this
 * isolate serves, and `minVersion` (LEGATE_MIN_VERSION) refuses anything older across
 * isolates: a fresh isolate reading a stale KV edge cache cannot go below it.
 * @module
 */
import { LegateError } from '../../../protocol/errors.ts'
import { configDigest } from '../../../protocol/digest.ts'
import type { ConfigHolder } from '../../config/holder.ts'
import type { Counter } from '../../observe/metrics.ts'
import type { EdgeConfigSource } from './config-sources.ts'

export interface EdgeConfigOptions {
  holder: ConfigHolder
  sources: EdgeConfigSource[]
  refreshMs: number
  minVersion: number
  /** `legate_edge_config_verifications_total`: configs handed to the verifier in this isolate. */
  verifications: Counter
  now: () => number
}

export interface EdgeConfig {
  /** Loads on the isolate's first request; later, starts a background re-read when one is due. */
  ensure(waitUntil: (work: Promise<unknown>) => void): Promise<void>
  readonly verifications: number
  readonly lastReadAt: number
}

/** The `ver` claim, read without verifying, only to refuse early; the holder verifies all else. */
function claimedVersion(jws: string): number | undefined {
  try {
    const payload = jws.split('.')[1] ?? ''
    const json = atob(payload.replace(/-/g, '+').replace(/_/g, '/'))
    const ver = (JSON.parse(json) as { ver?: unknown }).ver
    return typeof ver === 'number' ? ver : undefined
  } catch {
    return undefined
  }
}

export function createEdgeConfig(options: EdgeConfigOptions): EdgeConfig {
  const { holder, sources, refreshMs, minVersion, now } = options
  const seen = new Set<string>()
  let verifications = 0
  let lastReadAt = 0
  let reading: Promise<void> | undefined
  let first: Promise<void> | undefined

  async function offer(jws: string, source: string) {
    const digest = await configDigest(jws)
    if (seen.has(digest)) return
    // Bounded: a digest per version seen by this isolate; old ones can go.
    if (seen.size > 64) seen.clear()
    seen.add(digest)
    const ver = claimedVersion(jws)
    if (ver !== undefined && ver < minVersion) {
      holder.refuse(new LegateError('version_not_newer', `config version ${ver} is below LEGATE_MIN_VERSION (${minVersion})`), source)
      return
    }
    verifications++
    options.verifications.inc([])
    // A config refused only for being early (its iat/nbf ahead of this clock) may pass later: try it again then.
    if ((await holder.offer(jws, source)) === 'rejected' && holder.lastError?.code === 'not_yet_valid') seen.delete(digest)
  }

  async function read() {
    lastReadAt = now()
    for (const source of sources) {
      try {
        const jws = await source.read(holder.current?.verified.ver)
        holder.noteSourceOk()
        if (jws) await offer(jws, source.name)
      } catch (err) {
        holder.noteSourceError(err instanceof LegateError ? err : new LegateError('unreachable', `${source.name}: ${(err as Error)?.message ?? String(err)}`, { cause: err }))
      }
    }
  }

  const readOnce = () => (reading ??= read().finally(() => (reading = undefined)))

  return {
    async ensure(waitUntil) {
      // Every request that arrives before the isolate's first read is done waits for it.
      if (!first) first = readOnce()
      await first
      if (now() - lastReadAt >= refreshMs && !reading) waitUntil(readOnce())
    },
    get verifications() {
      return verifications
    },
    get lastReadAt() {
      return lastReadAt
    },
  }
}
