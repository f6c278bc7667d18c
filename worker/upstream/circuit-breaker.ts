/**
 * The circuit breaker of one service (`circuitBreaker`), with Envoy's four thresholds.
 * legate forwards with fetch and cannot see the client's socket pool, so "connections"
 * counts upstream attempts in flight (one HTTP/1.1 request holds one connection), and
 * "pending" counts attempts waiting for such a slot. Over `maxRequests`, or with the
 * pending queue full, a request is refused at once (→ 503 `circuit_open`); over
 * `maxRetries` concurrent retries a retry is not made and the failed answer stands.
 * @module
 */

export interface CircuitBreakerConfig {
  maxConnections: number
  maxPendingRequests: number
  maxRequests: number
  maxRetries: number
}

export type BreakerLimit = 'requests' | 'pending' | 'retries'

export interface CircuitBreakerOptions {
  /** Called on every refusal (for `legate_circuit_breaker_rejections_total`). */
  onReject?: (limit: BreakerLimit) => void
}

export interface CircuitBreaker {
  /** Admits a request, or returns false when `maxRequests` are in flight. Pair with `releaseRequest`. */
  admitRequest(): boolean
  releaseRequest(): void
  /**
   * A connection slot for one attempt: at once when one is free, else after waiting in
   * the pending queue; false when the queue is full or `signal` aborts first.
   */
  acquireConnection(signal?: AbortSignal): boolean | Promise<boolean>
  releaseConnection(): void
  /** Admits one retry, or returns false at `maxRetries` concurrent retries. Pair with `releaseRetry`. */
  admitRetry(): boolean
  releaseRetry(): void
  readonly stats: { requests: number; connections: number; pending: number; retries: number }
}

export function createCircuitBreaker(config: CircuitBreakerConfig, options: CircuitBreakerOptions = {}): CircuitBreaker {
  let requests = 0
  let connections = 0
  let retries = 0
  const waiting: ((granted: boolean) => void)[] = []
  const reject = (limit: BreakerLimit) => {
    options.onReject?.(limit)
    return false
  }

  return {
    admitRequest() {
      if (requests >= config.maxRequests) return reject('requests')
      requests++
      return true
    },
    releaseRequest() {
      requests--
    },
    acquireConnection(signal) {
      if (connections < config.maxConnections) {
        connections++
        return true
      }
      if (waiting.length >= config.maxPendingRequests) return reject('pending')
      if (signal?.aborted) return false
      return new Promise<boolean>((resolve) => {
        const grant = (granted: boolean) => {
          signal?.removeEventListener('abort', onAbort)
          resolve(granted)
        }
        const onAbort = () => {
          const i = waiting.indexOf(grant)
          if (i >= 0) waiting.splice(i, 1)
          resolve(false)
        }
        signal?.addEventListener('abort', onAbort, { once: true })
        waiting.push(grant)
      })
    },
    releaseConnection() {
      // Hand the slot straight to the oldest waiter; the count stays.
      const next = waiting.shift()
      if (next) next(true)
      else connections--
    },
    admitRetry() {
      if (retries >= config.maxRetries) return reject('retries')
      retries++
      return true
    },
    releaseRetry() {
      retries--
    },
    get stats() {
      return { requests, connections, pending: waiting.length, retries }
    },
  }
}
