/**
 * The Node fast path: one undici `Pool` per endpoint origin (keep-alive), dispatched with
 * our own handler; the request body piped from the raw `IncomingMessage`, and the upstream
 * response written straight to the raw `ServerResponse` (`c.env.outgoing`); the Hono handler returns
 * `RESPONSE_ALREADY_SENT`. Going through a web `Response` instead measured twice the CPU
 * per request (NOTES.md); this path measured as fast as a bare node:http forwarder.
 * @module
 */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http'
import { Readable } from 'node:stream'
import type { ReadableStream as NodeReadableStream } from 'node:stream/web'
import { Pool, type buildConnector } from 'undici'
import type { HttpBindings } from '@hono/node-server'
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response'
import { LegateError } from '../../../protocol/errors.ts'
import type { UpstreamForward, UpstreamRequest, UpstreamResult, RequestContext } from '../../platform.ts'
import { connectionNamed, isHopByHop, mayBeHopByHop, namesNoOtherHeader, staysOnHop } from '../../upstream/hop-by-hop.ts'
import { editedFields, headersToFlat, upstreamHeaders } from '../../upstream/forward.ts'
import { RepeatedHeads } from './repeated-heads.ts'

export interface UndiciForwardOptions {
  /** Connections per endpoint (default: unlimited, as undici). */
  connections?: number
  /** ms to establish a connection (default 5 s). */
  connectTimeout?: number
  /**
   * The connector for an https: origin (per-service CA, SNI, client certificate; see
   * tls-options.ts). It also keeps undici from taking SNI from the client's Host header.
   */
  connectorFor?: (origin: string, timeout: number) => buildConnector.connector | undefined
}

export interface UndiciForward {
  forward: UpstreamForward
  /** Closes the pools of origins no longer in the config (after their requests finish). */
  retain(origins: ReadonlySet<string>): void
  close(): Promise<void>
}

/** A request body exists when the client said so; a GET without one must not become chunked. */
const hasBody = (h: IncomingHttpHeaders) => h['transfer-encoding'] !== undefined || (h['content-length'] !== undefined && h['content-length'] !== '0')

/**
 * The client's raw headers minus hop-by-hop, Host, `drop` and the names the ambassador sets,
 * then those, appended to `out` (a new list unless the caller reuses one).
 */
export function rawUpstreamHeaders(raw: string[], req: UpstreamRequest, out: string[] = []): string[] {
  let named: string[] | undefined
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.length === 10 && raw[i]!.toLowerCase() === 'connection' && !namesNoOtherHeader(raw[i + 1])) (named ??= []).push(...connectionNamed(raw[i + 1]))
  }
  const set = req.set
  outer: for (let i = 0; i < raw.length; i += 2) {
    const lower = raw[i]!.toLowerCase()
    if (staysOnHop(lower, named, req.drop)) continue
    for (let j = 0; j < set.length; j += 2) if (set[j] === lower) continue outer
    out.push(raw[i]!, raw[i + 1]!)
  }
  for (let j = 0; j < set.length; j++) out.push(set[j]!)
  out.push('host', req.host)
  return out
}

/** Response headers for the client as a flat list: hop-by-hop removed (kept per distinct head), then the route's edits. */
function downstream(heads: RepeatedHeads, raw: Buffer[], req: UpstreamRequest): readonly string[] {
  const out = heads.fields(raw)
  return req.editResponseHeaders ? editedFields(out, req.editResponseHeaders) : out
}

/** The response fields as strings, hop-by-hop ones (and those `Connection` names) removed. */
function clientFields(raw: Buffer[]): string[] {
  const out: string[] = []
  let named: string[] | undefined
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toString('latin1')
    const value = raw[i + 1]!.toString('latin1')
    if (mayBeHopByHop(raw[i]!.length, raw[i]![0]!)) {
      const lower = name.toLowerCase()
      if (isHopByHop(lower)) {
        if (lower === 'connection' && !namesNoOtherHeader(value)) (named ??= []).push(...connectionNamed(value))
        continue
      }
    }
    out.push(name, value)
  }
  if (named) {
    for (let i = out.length - 2; i >= 0; i -= 2) if (named.includes(out[i]!.toLowerCase())) out.splice(i, 2)
  }
  return out
}

class TimeoutReason extends Error {
  override readonly name = 'TimeoutError'
}

function upstreamError(err: unknown, origin: string, timedOut: boolean): LegateError {
  const code = (err as { code?: string })?.code
  if (timedOut || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || (err as Error)?.name === 'TimeoutError') {
    return new LegateError('upstream_timeout', `${origin} did not answer in time`, { cause: err })
  }
  return new LegateError('upstream_unavailable', `cannot reach ${origin}: ${code ?? (err as Error)?.message ?? err}`, { cause: err })
}

/**
 * One forwarded exchange as an undici dispatch handler (the legacy callback form, which
 * undici's HTTP/1 client calls natively): the response head is written to the client as
 * soon as it arrives, body chunks go straight to the socket with undici paused while the
 * client is slow, and the client closing aborts the upstream request at any point.
 */
class Exchange {
  private abort: ((reason?: Error) => void) | undefined
  /** Set when we gave up before undici handed us `abort` (the request was still queued). */
  private abandoned: Error | undefined
  private resume: (() => void) | undefined
  private timer: ReturnType<typeof setTimeout> | undefined
  private headTimer: ReturnType<typeof setTimeout> | undefined
  private headSent = false
  private discarding = false
  private ended = false
  private timedOut = false
  private bytes = 0
  private finish: ((bytes: number) => void) | undefined
  // Listeners are assigned in the constructor, not as class fields: tsx (esbuild keepNames)
  // wraps each named closure with a defineProperty call, made per request here.
  private readonly onClose: () => void
  private onDrain: (() => void) | undefined

  constructor(
    private readonly req: UpstreamRequest,
    private readonly incoming: IncomingMessage,
    private readonly outgoing: ServerResponse,
    private readonly resolve: (r: UpstreamResult) => void,
    private readonly reject: (e: LegateError) => void,
    private readonly heads: RepeatedHeads,
  ) {
    this.onClose = () => {
      if (!this.ended) this.cancel(new Error('client closed the connection'))
    }
    // `on`, not `once` (no wrapper per request): cleanup() removes it.
    outgoing.on('close', this.onClose)
    if (req.requestTimeout > 0) this.timer = setTimeout(() => this.expire('request timeout'), req.requestTimeout)
  }

  private expire(what: string) {
    this.timedOut = true
    this.cancel(new TimeoutReason(what))
  }

  /** Aborts the upstream request; when undici has not started it yet, answers now and aborts it on connect. */
  private cancel(reason: Error) {
    if (this.abort) return this.abort(reason)
    if (this.abandoned) return
    this.abandoned = reason
    this.onError(reason)
  }

  /** undici calls this as it writes the request to a connection. */
  onConnect(abort: (reason?: Error) => void) {
    this.abort = abort
    if (this.abandoned) return abort(this.abandoned)
    if (this.outgoing.destroyed) return abort(new Error('client closed the connection'))
    // The per-try head timeout runs from here, the request being sent (queueing for a
    // connection is bounded by the overall request timeout), on a native timer: undici's
    // own headersTimeout runs on ~1 s "fast timers" and would fire up to a second late.
    if (this.req.headersTimeout > 0) this.headTimer = setTimeout(() => this.expire('response head timeout'), this.req.headersTimeout)
  }

  onHeaders(status: number, raw: Buffer[], resume: () => void): boolean {
    // 1xx informational heads are not forwarded (undici reports them too).
    if (status < 200) return true
    if (this.headTimer) clearTimeout(this.headTimer)

    this.resume = resume
    if (this.req.accept && !this.req.accept(status)) {
      this.discarding = true
      this.resolve({ status, delivered: false, response: RESPONSE_ALREADY_SENT, done: Promise.resolve(0) })
      return true
    }
    this.outgoing.writeHead(status, downstream(this.heads, raw, this.req) as string[])
    this.headSent = true
    this.resolve({ status, delivered: true, response: RESPONSE_ALREADY_SENT, done: new Promise<number>((r) => (this.finish = r)) })
    return true
  }

  onData(chunk: Buffer): boolean {
    if (this.discarding) return true
    this.bytes += chunk.length
    if (this.outgoing.write(chunk)) return true
    this.outgoing.once('drain', (this.onDrain ??= () => this.resume?.()))
    return false
  }

  onComplete() {
    if (this.ended) return
    this.ended = true
    this.cleanup()
    if (this.discarding) return
    this.outgoing.end()
    this.finish?.(this.req.method === 'HEAD' ? 0 : this.bytes)
  }

  onError(err: Error) {
    if (this.ended) return
    this.ended = true
    this.cleanup()
    if (this.discarding) return
    if (this.headSent) {
      // Too late for a local reply: cut the client off so it sees a truncated response.
      this.outgoing.destroy()
      this.finish?.(-1)
    } else if (this.outgoing.destroyed || (this.incoming.destroyed && !this.timedOut)) {
      // The client left first: nobody to answer (logged as 499, as nginx does).
      this.resolve({ status: 499, delivered: true, response: RESPONSE_ALREADY_SENT, done: Promise.resolve(-1) })
    } else this.reject(upstreamError(err, this.req.origin, this.timedOut))
  }

  private cleanup() {
    if (this.timer) clearTimeout(this.timer)
    if (this.headTimer) clearTimeout(this.headTimer)
    this.outgoing.off('close', this.onClose)
    if (this.onDrain) this.outgoing.off('drain', this.onDrain)
  }
}

/**
 * What undici is told the TLS server name of every request to an origin is: one value per
 * origin. Left to itself undici takes it from each request's Host header (an `isIP` check per
 * request), and on an https: origin it closes the connection whenever that name differs from
 * the previous request's, so requests for several hostnames to one TLS backend (a gateway, a
 * URLRewrite) would reconnect and handshake at every change. The name actually sent (SNI)
 * comes from the service's TLS settings in `connectorFor` (tls-options.ts), not from this.
 */
const originName = (origin: string): string => new URL(origin).hostname

/**
 * How long an idle upstream connection is kept when the upstream does not say. undici's own
 * default, 4 s, closed the pool between bursts a few seconds apart, and the next burst paid a
 * connect per request (bench: 4-28 new upstream connections per latency round). 60 s is
 * nginx's upstream `keepalive_timeout`; an upstream that announces a shorter one
 * (`Keep-Alive: timeout=N`, as Node and Apache do) is still closed a second before it, and
 * one that closes an idle connection unannounced sends a FIN that takes it out of the pool.
 */
const IDLE_KEEP_ALIVE_MS = 60_000

export function createUndiciForward(options: UndiciForwardOptions = {}): UndiciForward {
  const pools = new Map<string, { pool: Pool; servername: string }>()
  const heads = new RepeatedHeads(clientFields)
  const poolFor = (origin: string) => {
    let entry = pools.get(origin)
    if (!entry) {
      const pool = new Pool(origin, { connections: options.connections ?? null, keepAliveTimeout: IDLE_KEEP_ALIVE_MS, connect: options.connectorFor?.(origin, options.connectTimeout ?? 5_000) ?? { timeout: options.connectTimeout ?? 5_000 } })
      pools.set(origin, (entry = { pool, servername: originName(origin) }))
    }
    return entry
  }

  const forward: UpstreamForward = (c: RequestContext, req: UpstreamRequest) => {
    const { incoming, outgoing } = c.env as HttpBindings
    const headers = req.editRequestHeaders ? headersToFlat(upstreamHeaders(c.req.raw.headers, req)) : rawUpstreamHeaders(incoming.rawHeaders, req)
    return new Promise<UpstreamResult>((resolve, reject) => {
      // The rest of a streamed body can go to one try only: an earlier try has read from it.
      if (req.body instanceof ReadableStream && req.body.locked) {
        return reject(new LegateError('upstream_unavailable', `the request body already went to another endpoint and cannot be sent to ${req.origin}`))
      }
      const { pool, servername } = poolFor(req.origin)
      pool.dispatch(
        {
          origin: req.origin,
          servername,
          path: req.path,
          method: req.method as 'GET',
          headers,
          // A retry sends the bytes buffered before the first try (`req.body`), never the spent stream.
          body: req.body === undefined ? (hasBody(incoming.headers) ? incoming : null) : req.body instanceof ReadableStream ? Readable.fromWeb(req.body as NodeReadableStream) : req.body,
          headersTimeout: req.headersTimeout > 0 ? req.headersTimeout : 300_000,
          bodyTimeout: 300_000,
          // undici's Request takes it; its dispatch types do not list it.
        } as Parameters<Pool['dispatch']>[0],
        new Exchange(req, incoming, outgoing, resolve, reject, heads),
      )
    })
  }

  return {
    forward,
    retain(origins) {
      for (const [origin, { pool }] of pools) {
        if (origins.has(origin)) continue
        pools.delete(origin)
        void pool.close().catch(() => {})
      }
    },
    async close() {
      const all = [...pools.values()]
      pools.clear()
      await Promise.all(all.map(({ pool }) => pool.destroy().catch(() => {})))
    },
  }
}
