/**
 * Passive outlier detection (`outlierDetection`), Envoy's consecutive-5xx detector: a
 * 5xx answer, a failed connect, a reset or a per-try timeout counts against an endpoint,
 * any other answer clears its count. At `consecutive5xx` in a row the endpoint is ejected
 * for `baseEjectionTime × times ejected` (capped at max(base, 300 s), as Envoy's
 * max_ejection_time), unless `maxEjectionPercent` of the set is already out. Ejection ends
 * on time, checked when endpoints are picked, so no timer runs; the multiplier drops by
 * one for every `interval` the endpoint has behaved since its last ejection.
 * @module
 */
import type { Endpoint } from './endpoint-set.ts'

export interface OutlierDetectionConfig {
  consecutive5xx: number
  interval: number
  baseEjectionTime: number
  maxEjectionPercent: number
}

export interface OutlierDetectorOptions {
  now?: () => number
  /** Called on every ejection (for `legate_endpoint_ejections_total` and the log). */
  onEject?: (endpoint: Endpoint, durationMs: number) => void
}

export interface OutlierDetector {
  /** A response that is not a 5xx. */
  success(endpoint: Endpoint): void
  /** A 5xx, a connect failure, a reset or a per-try timeout. Returns whether it ejected the endpoint. */
  failure(endpoint: Endpoint): boolean
}

const MAX_EJECTION_TIME = 300_000

export function createOutlierDetector(
  config: OutlierDetectionConfig,
  endpoints: readonly Endpoint[],
  options: OutlierDetectorOptions = {},
): OutlierDetector {
  const now = options.now ?? Date.now
  // Envoy ejects at least one host whatever the percent; 0 % is read as "never eject".
  const maxEjected = config.maxEjectionPercent === 0 ? 0 : Math.max(1, Math.floor((endpoints.length * config.maxEjectionPercent) / 100))
  const maxTime = Math.max(config.baseEjectionTime, MAX_EJECTION_TIME)

  return {
    success(e) {
      e.consecutiveFailures = 0
    },
    failure(e) {
      const t = now()
      if (e.ejectedUntil > t) return false // already out: a late answer of an ejected endpoint
      if (++e.consecutiveFailures < config.consecutive5xx) return false
      let ejected = 0
      for (const other of endpoints) if (other.ejectedUntil > t) ejected++
      if (ejected >= maxEjected) return false
      if (e.timesEjected > 0 && e.lastEjectionEnd > 0) {
        const calm = Math.floor((t - e.lastEjectionEnd) / config.interval)
        e.timesEjected = Math.max(0, e.timesEjected - Math.max(0, calm))
      }
      e.timesEjected++
      const duration = Math.min(config.baseEjectionTime * e.timesEjected, maxTime)
      e.ejectedUntil = t + duration
      e.lastEjectionEnd = e.ejectedUntil
      e.consecutiveFailures = 0
      options.onEject?.(e, duration)
      return true
    },
  }
}
