/**
 * The fetch upstream leg of Deno, and of Bun for what its socket forward does not take:
 * the portable fetch forward (`upstream/forward.ts`), except that a response with a
 * Content-Length of at most 64 KiB is read whole with the runtime's native `arrayBuffer()`
 * and answered from memory, skipping the byte-counting web stream the portable path pipes
 * every body through. Larger or unsized responses, and requests the
 * fast path does not cover (timeouts, request bodies), take the portable path unchanged.
 * On Bun the headers go both ways without a field-by-field `Headers` copy (see below).
 * @module
 */
import { LegateError } from '../../../protocol/errors.ts'
import type { UpstreamForward, UpstreamRequest, UpstreamResult, RequestContext } from '../../platform.ts'
import { createFetchForward, downstreamHeaders, NO_DECOMPRESS, upstreamHeaders } from '../../upstream/forward.ts'
import { isHopByHop, namedByConnection, staysOnHop } from '../../upstream/hop-by-hop.ts'

const SMALL = 64 * 1024

/**
 * Bun: its `Headers` has `toJSON()` (all fields as one plain object, in one native call).
 * (Its fetch also needs `decompress: false`: see NO_DECOMPRESS in upstream/forward.ts.)
 */
const onBun = typeof (globalThis as { Bun?: unknown }).Bun !== 'undefined'
type HeadersJson = Record<string, string | string[]>
const json = (h: Headers): HeadersJson | undefined => (onBun ? (h as unknown as { toJSON(): HeadersJson }).toJSON() : undefined)

/**
 * `upstreamHeaders` as a plain object on Bun (what fetch then reads in one go, instead of a
 * `Headers` built one `append` at a time): the same fields, dropped and set the same way. A
 * `Headers` still where a route edits the request headers (its filters take one) or where a
 * field repeats as a list (set-cookie).
 */
function upstreamHeadersFast(incoming: Headers, req: UpstreamRequest): HeadersJson | Headers {
  const o = req.editRequestHeaders ? undefined : json(incoming)
  if (!o || Array.isArray(o['set-cookie'])) return upstreamHeaders(incoming, req)
  const conn = o.connection as string | undefined
  const named = namedByConnection(conn)
  for (const name in o) if (staysOnHop(name, named, req.drop)) delete o[name]
  for (let i = 0; i < req.set.length; i += 2) o[req.set[i]!] = req.set[i + 1]!
  o.host = req.host
  return o
}

/**
 * `downstreamHeaders` on Bun without a copy: fetch's response `Headers` are mutable there, so
 * the hop-by-hop fields (rare in a fetch answer) are deleted in place and `new Response` copies
 * the rest natively; the route's edits then apply to the new response's headers.
 */
function downstreamHeadersFast(upstream: Headers): Headers | undefined {
  const o = json(upstream)
  if (!o) return undefined
  const named = namedByConnection(o.connection as string | undefined)
  for (const name in o) if (isHopByHop(name) || named?.includes(name)) upstream.delete(name)
  return upstream
}

export function createSmallBodyForward(): UpstreamForward {
  const portable = createFetchForward()
  const unavailable = (req: UpstreamRequest) => (err: unknown) => {
    throw new LegateError('upstream_unavailable', `cannot reach ${req.origin}: ${(err as Error)?.message ?? err}`, { cause: err })
  }
  // A promise chain, not an async function: in a Bun.serve server six async frames around the
  // bare forwarder cost ~1.5 µs of CPU per request (bench/forwarders/bun-fetch-pieces.ts, `async`).
  return (c: RequestContext, req: UpstreamRequest) => {
    const incoming = c.req.raw
    // Only plain bodiless requests without timeouts: the portable path owns every other case.
    if (req.headersTimeout > 0 || req.requestTimeout > 0 || req.body !== undefined || (req.method !== 'GET' && req.method !== 'HEAD')) return portable(c, req)
    let sent: Promise<Response>
    try {
      sent = fetch(req.origin + req.path, { method: req.method, headers: upstreamHeadersFast(incoming.headers, req), redirect: 'manual', signal: incoming.signal, ...NO_DECOMPRESS } as RequestInit)
    } catch (err) {
      return Promise.reject(unavailable(req)(err))
    }
    return sent.then((res) => answer(res, req, incoming.signal), unavailable(req))
  }
}

function answer(res: Response, req: UpstreamRequest, clientSignal: AbortSignal): Promise<UpstreamResult> | UpstreamResult {
  if (req.accept && !req.accept(res.status)) {
    const discarded = { status: res.status, delivered: false, response: new Response(null, { status: res.status }), done: Promise.resolve(0) }
    return res.body ? res.body.cancel().then(() => discarded, () => discarded) : discarded
  }
  const length = Number(res.headers.get('content-length') ?? NaN)
  if (length <= SMALL) {
    const same = downstreamHeadersFast(res.headers)
    const headers = same ?? downstreamHeaders(res.headers, req)
    return res.arrayBuffer().then((body) => {
      const response = new Response(body, { status: res.status, statusText: res.statusText, headers })
      if (same) req.editResponseHeaders?.(response.headers)
      return { status: res.status, delivered: true, response, done: Promise.resolve(body.byteLength) }
    })
  }
  const headers = downstreamHeaders(res.headers, req)
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
    { signal: clientSignal },
  )
  if (body) clientSignal.addEventListener('abort', () => finish(-1), { once: true })
  else finish(0)
  return { status: res.status, delivered: true, response: new Response(body ?? null, { status: res.status, statusText: res.statusText, headers }), done }
}
