/**
 * The upstream leg of Bun and Deno: the portable fetch forward (`upstream/forward.ts`),
 * except that a response with a Content-Length of at most 64 KiB is read whole with the
 * runtime's native `arrayBuffer()` and answered from memory, skipping the byte-counting web stream the
 * portable path pipes every body through. Larger or unsized responses, and requests the
 * fast path does not cover (timeouts, request bodies), take the portable path unchanged.
 * @module
 */
import { LegateError } from '../../../protocol/errors.ts'
import type { UpstreamForward, UpstreamRequest, RequestContext } from '../../platform.ts'
import { createFetchForward, downstreamHeaders, upstreamHeaders } from '../../upstream/forward.ts'

const SMALL = 64 * 1024

export function createSmallBodyForward(): UpstreamForward {
  const portable = createFetchForward()
  return async (c: RequestContext, req: UpstreamRequest) => {
    const incoming = c.req.raw
    // Only plain bodiless requests without timeouts: the portable path owns every other case.
    if (req.headersTimeout > 0 || req.requestTimeout > 0 || req.body !== undefined || (req.method !== 'GET' && req.method !== 'HEAD')) return portable(c, req)
    let res: Response
    try {
      res = await fetch(req.origin + req.path, { method: req.method, headers: upstreamHeaders(incoming.headers, req), redirect: 'manual', signal: incoming.signal })
    } catch (err) {
      throw new LegateError('upstream_unavailable', `cannot reach ${req.origin}: ${(err as Error)?.message ?? err}`, { cause: err })
    }
    if (req.accept && !req.accept(res.status)) {
      await res.body?.cancel().catch(() => {})
      return { status: res.status, delivered: false, response: new Response(null, { status: res.status }), done: Promise.resolve(0) }
    }
    const length = Number(res.headers.get('content-length') ?? NaN)
    const headers = downstreamHeaders(res.headers, req)
    if (length <= SMALL) {
      const body = await res.arrayBuffer()
      return { status: res.status, delivered: true, response: new Response(body, { status: res.status, statusText: res.statusText, headers }), done: Promise.resolve(body.byteLength) }
    }
    // A large or unsized body streams as it comes, counted as on the portable path.
    let bytes = 0
    let finish!: (n: number) => void
    const done = new Promise<number>((resolve) => (finish = resolve))
    const body = res.body?.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, ctl) {
          bytes += chunk.byteLength
          ctl.enqueue(chunk)
        },
        flush: () => finish(bytes),
      }),
      { signal: incoming.signal },
    )
    if (body) incoming.signal.addEventListener('abort', () => finish(-1), { once: true })
    else finish(0)
    return { status: res.status, delivered: true, response: new Response(body ?? null, { status: res.status, statusText: res.statusText, headers }), done }
  }
}
