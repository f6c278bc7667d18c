/**
 * Active health checks (`healthCheck`): every endpoint gets `GET <path>` each `interval`
 * (plus up to 10 % jitter, so the checks of many ambassadors do not arrive together),
 * abandoned after `timeout`. A 2xx passes. `unhealthyThreshold` failures in a row take
 * the endpoint out, `healthyThreshold` passes in a row bring it back. The next check is
 * scheduled when the previous one ended, so a slow endpoint is never checked twice at once.
 * Timers and fetch come from the platform: on Node and Deno these are ordinary timers; a
 * workerd isolate has none that outlive a request, so there the checker is not started
 * and outlier detection (passive) does the work (see docs/resilience.md).
 * @module
 */
import type { Endpoint } from './endpoint-set.ts'

export interface HealthCheckConfig {
  path: string
  interval: number
  timeout: number
  unhealthyThreshold: number
  healthyThreshold: number
}

/** A repeating timer, as the platform gives it (`Platform.setInterval`). */
export type SetIntervalLike = (fn: () => void, ms: number) => { cancel(): void }

export interface HealthCheckerOptions {
  fetch?: typeof fetch
  setInterval: SetIntervalLike
  random?: () => number
  /** Called when an endpoint's verdict flips (for `legate_endpoint_healthy` and the log). */
  onChange?: (endpoint: Endpoint, healthy: boolean) => void
}

export interface HealthChecker {
  /** Cancels every timer and abandons checks in flight; nothing runs afterwards. */
  stop(): void
}

/** Jitter as a fraction of the interval, added to each wait. */
const JITTER = 0.1

export function createHealthChecker(config: HealthCheckConfig, endpoints: readonly Endpoint[], options: HealthCheckerOptions): HealthChecker {
  const doFetch = options.fetch ?? fetch
  const random = options.random ?? Math.random
  const timers = new Set<{ cancel(): void }>()
  const inFlight = new Set<AbortController>()
  let stopped = false

  /** A one-shot timer out of the platform's repeating one. */
  function after(ms: number, fn: () => void) {
    const t = options.setInterval(() => {
      t.cancel()
      timers.delete(t)
      fn()
    }, ms)
    timers.add(t)
  }

  async function probe(e: Endpoint): Promise<boolean> {
    const abort = new AbortController()
    inFlight.add(abort)
    let timer: { cancel(): void } | undefined
    try {
      timer = options.setInterval(() => abort.abort(), config.timeout)
      const res = await doFetch(e.url + config.path, { signal: abort.signal, redirect: 'manual', headers: { 'user-agent': 'legate-health-check' } })
      await res.body?.cancel().catch(() => {})
      return res.status >= 200 && res.status < 300
    } catch {
      return false
    } finally {
      timer?.cancel()
      inFlight.delete(abort)
    }
  }

  function record(e: Endpoint, passed: boolean) {
    if (passed) {
      e.checkFailures = 0
      e.checkPasses++
      if (!e.healthy && e.checkPasses >= config.healthyThreshold) {
        e.healthy = true
        options.onChange?.(e, true)
      }
    } else {
      e.checkPasses = 0
      e.checkFailures++
      if (e.healthy && e.checkFailures >= config.unhealthyThreshold) {
        e.healthy = false
        options.onChange?.(e, false)
      }
    }
  }

  function loop(e: Endpoint, wait: number) {
    after(wait, () => {
      if (stopped) return
      void probe(e).then((passed) => {
        if (stopped) return
        record(e, passed)
        loop(e, config.interval * (1 + random() * JITTER))
      })
    })
  }

  // The first round starts spread over the first tenth of an interval.
  for (const e of endpoints) loop(e, config.interval * random() * JITTER)

  return {
    stop() {
      stopped = true
      for (const t of timers) t.cancel()
      timers.clear()
      for (const a of inFlight) a.abort()
    },
  }
}
