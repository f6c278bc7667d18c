/**
 * The portable upstream forward: one attempt with web `fetch` (Deno, workerd, Bun, and
 * Node when no faster platform path is given). Redirects are passed to the client, never
 * followed; bodies stream both ways; the client's abort cancels the upstream request.
 * @module
 */
import { LegateError } from '../../protocol/errors.ts'
import type { UpstreamForward, UpstreamRequest, RequestContext } from '../platform.ts'
import { connectionNamed, isHopByHop, staysOnHop } from './hop-by-hop.ts'

export interface FetchForwardOptions {
  /** Defaults to the global fetch. */
  fetch?: typeof fetch
}

/** The headers to send upstream: the client's minus hop-by-hop and `drop`, then `set`. */
export function upstreamHeaders(incoming: Headers, req: UpstreamRequest): Headers {
  const named = connectionNamed(incoming.get('connection'))
  const out = new Headers()
  incoming.forEach((value, name) => {
    if (staysOnHop(name, named, req.drop)) return
    out.append(name, value)
  })
  for (let i = 0; i < req.set.length; i += 2) out.set(req.set[i]!, req.set[i + 1]!)
  req.editRequestHeaders?.(out)
  // Some runtimes' fetch refuse to send a Host header of our choosing; those that allow it get it.
  out.set('host', req.host)
  return out
}

/** `Headers` as a flat `[name, value, …]` list, each Set-Cookie its own field. */
export function headersToFlat(h: Headers): string[] {
  const out: string[] = []
  h.forEach((value, name) => {
    if (name !== 'set-cookie') out.push(name, value)
  })
  for (const cookie of h.getSetCookie()) out.push('set-cookie', cookie)
  return out
}

/** A flat field list with a route's ResponseHeaderModifier applied (on a copy: `fields` may be shared). */
export function editedFields(fields: readonly string[], edit: (headers: Headers) => void): string[] {
  const h = new Headers()
  for (let i = 0; i < fields.length; i += 2) h.append(fields[i]!, fields[i + 1]!)
  edit(h)
  return headersToFlat(h)
}

/** Response headers as the client gets them: hop-by-hop removed, then the route's edits. */
export function downstreamHeaders(upstream: Headers, req: UpstreamRequest): Headers {
  const named = connectionNamed(upstream.get('connection'))
  const out = new Headers()
  upstream.forEach((value, name) => {
    if (isHopByHop(name) || named.includes(name)) return
    out.append(name, value)
  })
  req.editResponseHeaders?.(out)
  return out
}

const isTimeout = (err: unknown) => (err as Error)?.name === 'TimeoutError'
/**
 * Bun's fetch inflates a gzip or br answer unless told not to, while its Content-Encoding and
 * Content-Length still describe the compressed bytes: a proxy passes the bytes as they come.
 */
export const NO_DECOMPRESS = typeof (globalThis as { Bun?: unknown }).Bun !== 'undefined' ? { decompress: false } : {}

export function createFetchForward(options: FetchForwardOptions = {}): UpstreamForward {
  const doFetch = options.fetch ?? fetch
  return async (c: RequestContext, req: UpstreamRequest) => {
    const incoming = c.req.raw
    const signals: AbortSignal[] = [incoming.signal]
    if (req.requestTimeout > 0) signals.push(AbortSignal.timeout(req.requestTimeout))
    let headersTimer: AbortController | undefined
    let timer: ReturnType<typeof setTimeout> | undefined
    if (req.headersTimeout > 0) {
      headersTimer = new AbortController()
      timer = setTimeout(() => headersTimer!.abort(new DOMException('upstream response head timed out', 'TimeoutError')), req.headersTimeout)
      signals.push(headersTimer.signal)
    }
    const signal = AbortSignal.any(signals)
    const hasBody = req.method !== 'GET' && req.method !== 'HEAD' && incoming.body !== null
    let res: Response
    try {
      res = await doFetch(req.origin + req.path, {
        method: req.method,
        headers: upstreamHeaders(incoming.headers, req),
        // A retry sends the bytes buffered before the first try (`req.body`), never the spent stream.
        body: req.body !== undefined ? req.body : hasBody ? incoming.body : null,
        redirect: 'manual',
        signal,
        // Required by the fetch spec for a streaming request body.
        ...(hasBody ? { duplex: 'half' } : {}),
        ...NO_DECOMPRESS,
      } as RequestInit)
    } catch (err) {
      if (isTimeout(signal.reason) || isTimeout(err)) throw new LegateError('upstream_timeout', `no response from ${req.origin} in time`, { cause: err })
      throw new LegateError('upstream_unavailable', `cannot reach ${req.origin}: ${(err as Error)?.message ?? err}`, { cause: err })
    } finally {
      if (timer) clearTimeout(timer)
    }
    if (req.accept && !req.accept(res.status)) {
      await res.body?.cancel().catch(() => {})
      return { status: res.status, delivered: false, response: new Response(null, { status: res.status }), done: Promise.resolve(0) }
    }
    let bytes = 0
    let finish!: (n: number) => void
    const done = new Promise<number>((resolve) => (finish = resolve))
    let body: ReadableStream<Uint8Array> | null = null
    if (res.body) {
      // Counts what reaches the client; web streams cost more CPU, this path is the portable one.
      body = res.body.pipeThrough(
        new TransformStream<Uint8Array, Uint8Array>({
          transform(chunk, ctl) {
            bytes += chunk.byteLength
            ctl.enqueue(chunk)
          },
          flush: () => finish(bytes),
        }),
        { signal },
      )
      signal.addEventListener('abort', () => finish(-1), { once: true })
    } else finish(0)
    const response = new Response(body, { status: res.status, statusText: res.statusText, headers: downstreamHeaders(res.headers, req) })
    return { status: res.status, delivered: true, response, done }
  }
}
