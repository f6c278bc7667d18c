/**
 * The route filter `RequestMirror`: a copy of a chosen share (`percent`) of requests goes
 * to another service, fire and forget. The mirror's answer is read and thrown away; its
 * errors are swallowed; nothing waits for it, so it can neither change nor slow the
 * response. A hanging mirror target must not pile up sockets and memory either: each copy
 * has a timeout, and beyond `maxInFlight` copies in flight new ones are dropped (counted).
 * A body is mirrored only when it was buffered (≤ 64 KiB) anyway: teeing a streamed body
 * would tie the primary's pace to the mirror's (see docs/resilience.md).
 * @module
 */

export interface MirrorRequest {
  method: string
  /** Path and query. */
  path: string
  /** The Host as sent to the primary; the copy gets `<host>-shadow`, as Envoy does. */
  host: string
  headers: Headers
  /** The body, when it was buffered (≤ 64 KiB); requests with a streamed body are not mirrored. */
  body?: Uint8Array | null
}

/** Sends one copy; the signal aborts it at the timeout. */
export type MirrorSend = (req: MirrorRequest, signal: AbortSignal) => Promise<Response>

export interface RequestMirrorOptions {
  send: MirrorSend
  random?: () => number
  /** Copies in flight beyond which new ones are dropped (default 64). */
  maxInFlight?: number
  /** ms before a copy is abandoned (default 10 s). */
  timeout?: number
  /** Keeps the copy alive past the response where the runtime needs it (workerd's waitUntil). */
  waitUntil?: (work: Promise<unknown>) => void
}

export interface RequestMirror {
  /** Maybe sends a copy; returns at once. True when a copy went out. */
  mirror(req: MirrorRequest): boolean
  readonly stats: { inFlight: number; sent: number; dropped: number; failed: number }
}

export function createRequestMirror(config: { percent: number }, options: RequestMirrorOptions): RequestMirror {
  const random = options.random ?? Math.random
  const maxInFlight = options.maxInFlight ?? 64
  const timeout = options.timeout ?? 10_000
  const stats = { inFlight: 0, sent: 0, dropped: 0, failed: 0 }

  async function run(req: MirrorRequest) {
    const abort = new AbortController()
    const timer = setTimeout(() => abort.abort(), timeout)
    try {
      const res = await options.send(req, abort.signal)
      // Read the body to its end (or cancel it) so the connection goes back to the pool.
      await res.body?.cancel()
    } catch {
      stats.failed++
    } finally {
      clearTimeout(timer)
      stats.inFlight--
    }
  }

  return {
    mirror(req) {
      if (config.percent <= 0 || random() * 100 >= config.percent) return false
      if (stats.inFlight >= maxInFlight) {
        stats.dropped++
        return false
      }
      stats.inFlight++
      stats.sent++
      const headers = new Headers(req.headers)
      const work = run({ ...req, host: `${req.host.replace(/:\d+$/, '')}-shadow`, headers })
      options.waitUntil?.(work)
      return true
    },
    stats,
  }
}
