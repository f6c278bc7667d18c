/**
 * A retry budget, Linkerd's: over a sliding window (10 s), retries may be at most
 * `ratio` (20 %) of the requests plus a floor of `minPerSecond` (10) retries a second.
 * Per-request attempt limits alone let a failing service take 1 + attempts times its
 * load; the budget caps the extra load at 20 % however bad things get, while the floor
 * keeps retries useful for a service with little traffic.
 * @module
 */

export interface RetryBudgetConfig {
  ratio: number
  minPerSecond: number
  windowMs: number
}

export const DEFAULT_RETRY_BUDGET: RetryBudgetConfig = { ratio: 0.2, minPerSecond: 10, windowMs: 10_000 }

export interface RetryBudgetOptions {
  now?: () => number
  /** Called when a retry is refused (for `legate_retry_budget_exhausted_total`). */
  onExhausted?: () => void
}

export interface RetryBudget {
  /** Records one original request (not a retry): it earns `ratio` of a retry. */
  request(): void
  /** Spends one retry if the window allows it. */
  tryRetry(): boolean
}

/** Buckets per window: one-second resolution for a 10 s window. */
const BUCKETS = 10

export function createRetryBudget(config: RetryBudgetConfig = DEFAULT_RETRY_BUDGET, options: RetryBudgetOptions = {}): RetryBudget {
  const now = options.now ?? Date.now
  const width = config.windowMs / BUCKETS
  const requests = new Float64Array(BUCKETS)
  const retries = new Float64Array(BUCKETS)
  let current = Math.floor(now() / width)
  const floor = (config.minPerSecond * config.windowMs) / 1000

  /** Clears the buckets that slid out of the window since the last call. */
  function advance(): number {
    const slot = Math.floor(now() / width)
    const gap = Math.min(slot - current, BUCKETS)
    for (let i = 1; i <= gap; i++) {
      const b = (current + i) % BUCKETS
      requests[b] = 0
      retries[b] = 0
    }
    if (slot > current) current = slot
    return current % BUCKETS
  }

  const sum = (a: Float64Array) => {
    let s = 0
    for (let i = 0; i < BUCKETS; i++) s += a[i]!
    return s
  }

  return {
    request() {
      requests[advance()]!++
    },
    tryRetry() {
      const b = advance()
      if (sum(retries) + 1 > config.ratio * sum(requests) + floor) {
        options.onExhausted?.()
        return false
      }
      retries[b]!++
      return true
    },
  }
}
