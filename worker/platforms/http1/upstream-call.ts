/**
 * What the socket forwards' exchanges (platforms/bun, platforms/node) share: the pool's view
 * of a request, the route's two timeouts, and cutting the connection when giving up. Each
 * runtime's subclass hands the answer on in its own form (a web `Response` on Bun, the
 * client's `ServerResponse` on Node).
 * @module
 */
import { LegateError } from '../../../protocol/errors.ts'
import type { UpstreamRequest } from '../../platform.ts'
import type { Connection, Exchange } from './connection-pool.ts'
import type { ResponseHead } from './response-reader.ts'

export abstract class UpstreamCall implements Exchange {
  conn: Connection | undefined = undefined
  cancelled = false
  retryable = true
  readonly headRequest: boolean
  private headersTimer: ReturnType<typeof setTimeout> | undefined
  private requestTimer: ReturnType<typeof setTimeout> | undefined

  constructor(
    protected readonly req: UpstreamRequest,
    readonly request: string | Uint8Array,
  ) {
    this.headRequest = req.method === 'HEAD'
  }

  abstract head(head: ResponseHead): void
  abstract body(chunk: Uint8Array): void
  abstract end(): void
  abstract fail(err: Error): void
  /** `timeouts.backendRequest` (no head yet) or `timeouts.request` passed. */
  protected abstract timedOut(what: 'response head' | 'response'): void

  /** Starts the route's timeouts; the subclass calls it once it can hear `timedOut`. */
  protected startTimers(): void {
    if (this.req.headersTimeout > 0) this.headersTimer = setTimeout(() => this.timedOut('response head'), this.req.headersTimeout)
    if (this.req.requestTimeout > 0) this.requestTimer = setTimeout(() => this.timedOut('response'), this.req.requestTimeout)
  }

  /** The head arrived: its own timeout no longer applies. */
  protected headArrived(): void {
    if (this.headersTimer) clearTimeout(this.headersTimer)
    this.headersTimer = undefined
  }

  /** Gives up on the exchange: its connection is cut, not reused. */
  protected cut(): void {
    const conn = this.conn
    this.cancelled = true
    this.settle()
    conn?.destroy()
  }

  /** No more events matter: the timers go, and the connection is no longer this call's. */
  protected settle(): void {
    this.conn = undefined
    if (this.headersTimer) clearTimeout(this.headersTimer)
    if (this.requestTimer) clearTimeout(this.requestTimer)
  }

  protected unavailable(err: Error): LegateError {
    return new LegateError('upstream_unavailable', `cannot reach ${this.req.origin}: ${err.message}`, { cause: err })
  }

  protected timeoutError(what: string): LegateError {
    return new LegateError('upstream_timeout', `no ${what} from ${this.req.origin} in time`)
  }
}
