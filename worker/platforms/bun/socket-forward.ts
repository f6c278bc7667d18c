/**
 * Bun's upstream leg: body-less requests to `http://` endpoints go over legate's own
 * keep-alive HTTP/1.1 connections (`platforms/http1/`, on `Bun.connect`) on the main thread; every
 * other request (a body, an upgrade, TLS) takes the fetch forward it is given.
 *
 * An answer with a Content-Length of at most 64 KiB is gathered and answered from memory
 * (most often it came in the same read as its head: no copy at all); a larger or unsized one
 * streams to the client with backpressure (the socket pauses while the client is slow). The
 * client going away cuts the upstream connection; `timeouts.backendRequest` and
 * `timeouts.request` give 504 `upstream_timeout` as on the other paths.
 * @module
 */
import type { UpstreamForward, UpstreamRequest, UpstreamResult, RequestContext } from '../../platform.ts'
import { headersToFlat, upstreamHeaders } from '../../upstream/forward.ts'
import { endToEndFields, namedByConnection, staysOnHop } from '../../upstream/hop-by-hop.ts'
import { endHead, headBytes, headText, IDEMPOTENT, startHead, UNSAFE_TARGET } from '../http1/request-head.ts'
import { ConnectionPools, type SocketConnector } from '../http1/connection-pool.ts'
import { UpstreamCall } from '../http1/upstream-call.ts'
import type { ResponseHead } from '../http1/response-reader.ts'

const SMALL = 64 * 1024

type HeadersJson = Record<string, string | string[] | undefined>

export interface SocketForward extends UpstreamForward {
  /** Closes the idle connections of origins no longer in use. */
  retain(origins: ReadonlySet<string>): void
}

export function createSocketForward(fallback: UpstreamForward, pools = new ConnectionPools((globalThis as unknown as { Bun: SocketConnector }).Bun)): SocketForward {
  const clientWatch = new ClientWatch()
  const forward = ((c: RequestContext, req: UpstreamRequest) => {
    const incoming = c.req.raw
    if (!req.origin.startsWith('http://') || !IDEMPOTENT.has(req.method) || (req.body !== undefined && req.body !== null) || UNSAFE_TARGET.test(req.path)) return fallback(c, req)
    const fields = (incoming.headers as unknown as { toJSON(): HeadersJson }).toJSON()
    // A request body (or an upgrade) is the fetch forward's; here only what fits in a head.
    if (fields['content-length'] !== undefined || fields['transfer-encoding'] !== undefined || fields.upgrade !== undefined) return fallback(c, req)
    const text = req.editRequestHeaders ? headText(req, headersToFlat(upstreamHeaders(incoming.headers, req))) : headFromFields(fields, req)
    const call = new BunCall(req, headBytes(text), incoming)
    clientWatch.add(call)
    pools.get(req.origin).send(call)
    return call.result
  }) as SocketForward
  forward.retain = (origins) => pools.retain(origins)
  return forward
}

/** Host, then the client's fields minus hop-by-hop ones, Host and `drop`, then the hop's own (`set`). */
function headFromFields(fields: HeadersJson, req: UpstreamRequest): string {
  const named = namedByConnection(fields.connection as string | undefined)
  const set = req.set
  for (let i = 0; i < set.length; i += 2) if (fields[set[i]!] !== undefined) fields[set[i]!] = undefined
  // One joined string: `+=` would make a rope of ~25 pieces (a JavaScriptCore object each) for
  // the socket's write to flatten.
  const parts = startHead(req)
  parts.push('host: ', req.host, '\r\n')
  for (const name in fields) {
    const value = fields[name]
    if (value === undefined || staysOnHop(name, named, req.drop)) continue
    if (typeof value === 'string') parts.push(name, ': ', value, '\r\n')
    else for (const v of value) parts.push(name, ': ', v, '\r\n')
  }
  for (let i = 0; i < set.length; i += 2) parts.push(set[i]!, ': ', set[i + 1]!, '\r\n')
  return endHead(parts)
}

/**
 * The response fields minus hop-by-hop ones, as `Headers`. Made once per distinct head: a
 * repeated one comes with the same `fields` array (see `ResponseReader`), and `Response`
 * copies a `Headers` it is given in about half the time it takes to read a plain object.
 */
const headersOf = new WeakMap<readonly string[], Headers>()
function responseHeaders(fields: readonly string[]): Headers {
  let headers = headersOf.get(fields)
  if (headers === undefined) {
    const pass = endToEndFields(fields)
    headers = new Headers()
    for (let i = 0; i < pass.length; i += 2) headers.append(pass[i]!, pass[i + 1]!)
    headersOf.set(fields, headers)
  }
  return headers
}

const enum Phase {
  Waiting,
  Gathering,
  Streaming,
  Done,
}

/** One request's exchange: from the head written to the body's last byte (or its failure). */
class BunCall extends UpstreamCall {
  readonly result: Promise<UpstreamResult>
  private phase = Phase.Waiting
  private resolve!: (result: UpstreamResult) => void
  private reject!: (err: unknown) => void
  private response: ResponseHead | undefined
  /** A small body: the one chunk that held it whole, or the buffer it is copied into. */
  private gathered: Uint8Array | undefined
  private gatheredBytes = 0
  private stream: ReadableStreamDefaultController<Uint8Array> | undefined
  private bytes = 0
  private finish: ((bytes: number) => void) | undefined
  /** Links of the client watch's list (see `ClientWatch`): set while the call is on it. */
  watchPrev: BunCall | undefined = undefined
  watchNext: BunCall | undefined = undefined
  watched: ClientWatch | undefined = undefined

  constructor(
    req: UpstreamRequest,
    request: string | Uint8Array,
    private readonly incoming: Request,
  ) {
    super(req, request)
    this.result = new Promise<UpstreamResult>((resolve, reject) => {
      this.resolve = resolve
      this.reject = reject
    })
    this.startTimers()
  }

  /** Still waiting at a sweep of the client watch: from now on the client's leaving is heard at once. */
  listenForClient(): void {
    const signal = this.incoming.signal
    if (signal.aborted) this.handleEvent()
    // The call itself is the listener (handleEvent): no closure.
    else signal.addEventListener('abort', this)
  }

  head(head: ResponseHead): void {
    this.headArrived()
    if (this.req.accept && !this.req.accept(head.status)) {
      // A retry policy wants another attempt: this answer is dropped with its connection.
      this.cut()
      this.resolve({ status: head.status, delivered: false, response: new Response(null, { status: head.status }), done: Promise.resolve(0) })
      return
    }
    this.response = head
    if (head.length === 0) return
    if (head.length > 0 && head.length <= SMALL) {
      this.phase = Phase.Gathering
      return
    }
    this.phase = Phase.Streaming
    const body = new ReadableStream<Uint8Array>(
      {
        start: (controller) => void (this.stream = controller),
        pull: () => this.conn?.resume(),
        // The client stopped reading (gone): the upstream connection goes too.
        cancel: () => {
          if (this.phase !== Phase.Streaming) return
          this.cut()
          this.finish!(-1)
        },
      },
      { highWaterMark: SMALL, size: (chunk) => chunk.byteLength },
    )
    const done = new Promise<number>((resolve) => (this.finish = resolve))
    this.resolve({ status: head.status, delivered: true, response: this.answer(body), done })
  }

  body(chunk: Uint8Array): void {
    if (this.phase === Phase.Gathering) {
      const length = this.response!.length
      if (this.gatheredBytes === 0 && chunk.byteLength === length) this.gathered = chunk
      else {
        this.gathered ??= new Uint8Array(length)
        this.gathered.set(chunk, this.gatheredBytes)
      }
      this.gatheredBytes += chunk.byteLength
    } else if (this.phase === Phase.Streaming) {
      this.bytes += chunk.byteLength
      this.stream!.enqueue(chunk)
      if (this.stream!.desiredSize! <= 0) this.conn?.pause()
    }
  }

  end(): void {
    const head = this.response
    if (!head) return
    const phase = this.phase
    this.settle()
    if (phase === Phase.Streaming) {
      this.stream!.close()
      this.finish!(this.bytes)
    } else {
      const body = phase === Phase.Gathering ? this.gathered! : null
      this.resolve({ status: head.status, delivered: true, response: this.answer(body), done: Promise.resolve(body?.byteLength ?? 0) })
    }
  }

  fail(err: Error): void {
    const phase = this.phase
    this.settle()
    if (phase === Phase.Streaming) {
      this.stream!.error(err)
      this.finish!(-1)
    } else if (phase !== Phase.Done) this.reject(this.unavailable(err))
  }

  /** The client went away (the request's signal). */
  handleEvent(): void {
    const phase = this.phase
    if (phase === Phase.Done) return
    this.cut()
    if (phase === Phase.Streaming) {
      this.stream!.error(new Error('the client went away'))
      this.finish!(-1)
    } else this.reject(this.unavailable(new Error('the client went away')))
  }

  protected timedOut(what: string): void {
    const phase = this.phase
    if (phase === Phase.Done) return
    this.cut()
    const err = this.timeoutError(what)
    if (phase === Phase.Streaming) {
      this.stream!.error(err)
      this.finish!(-1)
    } else this.reject(err)
  }

  /** An abort listener stays (removing it costs more than the phase check it meets; it goes with the request). */
  protected override settle(): void {
    this.phase = Phase.Done
    this.watched?.remove(this)
    super.settle()
  }

  private answer(body: Uint8Array | ReadableStream<Uint8Array> | null): Response {
    const head = this.response!
    const response = new Response(body as BodyInit | null, { status: head.status, statusText: head.statusText, headers: responseHeaders(head.fields) })
    this.req.editResponseHeaders?.(response.headers)
    return response
  }

}

/**
 * The calls in flight whose client has not been listened to yet. Listening costs the request's
 * `AbortSignal` (Bun makes it on first use) and a listener: ~0.8 KB of garbage per request,
 * for the rare client that leaves while its answer is on the way. So a call is listened to
 * only once it has lasted to a sweep (every WATCH_MS): most answers come long before, and a
 * client that left meanwhile is seen then (Bun's signal is already aborted when first read
 * after the client went). A client that goes away cuts the upstream request at most WATCH_MS
 * late; a streamed answer's is cut at once either way (its body stream is cancelled).
 * An intrusive list: adding and removing a call allocates nothing. The timer stops after a
 * few empty sweeps, so an idle ambassador is not woken.
 */
const WATCH_MS = 100
class ClientWatch {
  private first: BunCall | undefined
  private timer: ReturnType<typeof setInterval> | undefined
  private emptySweeps = 0

  add(call: BunCall): void {
    call.watched = this
    call.watchNext = this.first
    if (this.first) this.first.watchPrev = call
    this.first = call
    if (this.timer === undefined) {
      this.emptySweeps = 0
      this.timer = setInterval(() => this.sweep(), WATCH_MS)
      ;(this.timer as { unref?(): void }).unref?.()
    }
  }

  remove(call: BunCall): void {
    const { watchPrev: prev, watchNext: next } = call
    if (prev) prev.watchNext = next
    else this.first = next
    if (next) next.watchPrev = prev
    call.watchPrev = call.watchNext = call.watched = undefined
  }

  private sweep(): void {
    if (this.first === undefined) {
      if (++this.emptySweeps >= 10) {
        clearInterval(this.timer)
        this.timer = undefined
      }
      return
    }
    this.emptySweeps = 0
    let call: BunCall | undefined = this.first
    this.first = undefined
    while (call) {
      const next: BunCall | undefined = call.watchNext
      call.watchPrev = call.watchNext = call.watched = undefined
      call.listenForClient()
      call = next
    }
  }
}
