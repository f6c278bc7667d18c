/**
 * Node's upstream leg for the usual request: a body-less GET, HEAD, OPTIONS, DELETE or TRACE
 * from an HTTP/1.1 client to an `http://` endpoint goes over legate's own keep-alive HTTP/1.1
 * connections (`platforms/http1/`, the Bun platform's client, on node:net), and the answer
 * is written to the client's `ServerResponse` as it arrives: the head at once, body chunks
 * with backpressure (the upstream socket pauses while the client is slow). Everything else (a
 * body, an upgrade, TLS, an HTTP/2 client) takes the undici forward it is given.
 *
 * Why: in the same bare forwarder (node:http in front), this client cost ~10 µs of CPU less per
 * request than undici's `Pool` (bench/analysis.md, session 5), mostly undici's request object,
 * header validation, handler layers and parser bindings, and the parse of a head that repeats
 * (the reader takes a repeated head from its last one). LEGATE_NODE_UNDICI=1 sends everything
 * through undici (for comparison).
 * @module
 */
import type { ServerResponse } from 'node:http'
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response'
import type { LegateError } from '../../../protocol/errors.ts'
import type { RequestContext, UpstreamForward, UpstreamRequest, UpstreamResult } from '../../platform.ts'
import { editedFields, headersToFlat, upstreamHeaders } from '../../upstream/forward.ts'
import { endToEndFields } from '../../upstream/hop-by-hop.ts'
import { headBytes, headText, IDEMPOTENT, UNSAFE_TARGET } from '../http1/request-head.ts'
import { ConnectionPools } from '../http1/connection-pool.ts'
import { UpstreamCall } from '../http1/upstream-call.ts'
import type { ResponseHead } from '../http1/response-reader.ts'
import { createNetConnector } from './net-connector.ts'
import type { NodeBindings } from './request-context.ts'
import { rawUpstreamHeaders } from './undici-forward.ts'

export interface NodeSocketForward {
  forward: UpstreamForward
  /** Closes the idle connections of origins no longer in use. */
  retain(origins: ReadonlySet<string>): void
  close(): void
}

export function createNodeSocketForward(fallback: UpstreamForward, options: { connectTimeout?: number } = {}): NodeSocketForward {
  const pools = new ConnectionPools(createNetConnector(options.connectTimeout))
  const forward: UpstreamForward = (c: RequestContext, req: UpstreamRequest) => {
    const env = c.env as NodeBindings
    const incoming = env.incoming
    const h = incoming.headers
    if (
      !req.origin.startsWith('http://') ||
      !IDEMPOTENT.has(req.method) ||
      (req.body !== undefined && req.body !== null) ||
      incoming.httpVersionMajor !== 1 ||
      h['content-length'] !== undefined ||
      h['transfer-encoding'] !== undefined ||
      h.upgrade !== undefined ||
      UNSAFE_TARGET.test(req.path)
    ) {
      return fallback(c, req)
    }
    FIELDS.length = 0
    const fields = req.editRequestHeaders ? headersToFlat(upstreamHeaders(c.req.raw.headers, req)) : rawUpstreamHeaders(incoming.rawHeaders, req, FIELDS)
    const head = headBytes(headText(req, fields))
    return new Promise<UpstreamResult>((resolve, reject) => {
      const call = new NodeCall(req, env.outgoing, head, resolve, reject)
      if (!call.cancelled) pools.get(req.origin).send(call)
    })
  }
  return {
    forward,
    retain: (origins) => pools.retain(origins),
    close: () => pools.retain(new Set()),
  }
}

// The client's fields, reused by every request (each head is built synchronously).
const FIELDS: string[] = []

/** The client's fields of one distinct answer head (the reader hands a repeated head's same `fields`). */
const clientFieldsOf = new WeakMap<readonly string[], string[]>()
function clientFields(fields: readonly string[]): string[] {
  let out = clientFieldsOf.get(fields)
  if (out === undefined) clientFieldsOf.set(fields, (out = endToEndFields(fields)))
  return out
}

/** One request's exchange, from the head written to the body's last byte written to the client. */
class NodeCall extends UpstreamCall {
  private headSent = false
  private settled = false
  private bytes = 0
  private finish: ((bytes: number) => void) | undefined
  // Assigned in the constructor, not as class fields (see undici-forward.ts on tsx's keepNames).
  private readonly onClose: () => void
  private onDrain: (() => void) | undefined

  constructor(
    req: UpstreamRequest,
    private readonly outgoing: ServerResponse,
    request: string | Uint8Array,
    private readonly resolve: (r: UpstreamResult) => void,
    private readonly reject: (e: LegateError) => void,
  ) {
    super(req, request)
    this.onClose = () => {
      if (!this.settled) this.clientGone()
    }
    if (outgoing.destroyed) {
      this.cancelled = true
      this.settled = true
      resolve({ status: 499, delivered: true, response: RESPONSE_ALREADY_SENT, done: Promise.resolve(-1) })
      return
    }
    // `on`, not `once` (no wrapper per request): settle() removes it.
    outgoing.on('close', this.onClose)
    this.startTimers()
  }

  head(head: ResponseHead): void {
    this.headArrived()
    const status = head.status
    if (this.req.accept && !this.req.accept(status)) {
      // A retry policy wants another attempt: this answer is dropped with its connection.
      this.cut()
      this.resolve({ status, delivered: false, response: RESPONSE_ALREADY_SENT, done: Promise.resolve(0) })
      return
    }
    const fields = clientFields(head.fields)
    const edit = this.req.editResponseHeaders
    this.outgoing.writeHead(status, edit ? editedFields(fields, edit) : fields)
    this.headSent = true
    this.resolve({ status, delivered: true, response: RESPONSE_ALREADY_SENT, done: new Promise<number>((r) => (this.finish = r)) })
  }

  body(chunk: Uint8Array): void {
    if (!this.headSent) return
    this.bytes += chunk.byteLength
    if (this.outgoing.write(chunk)) return
    this.conn?.pause()
    this.outgoing.once('drain', (this.onDrain ??= () => this.conn?.resume()))
  }

  end(): void {
    if (this.settled) return
    this.settle()
    if (!this.headSent) return
    this.outgoing.end()
    this.finish!(this.headRequest ? 0 : this.bytes)
  }

  fail(err: Error): void {
    if (this.settled) return
    this.settle()
    if (this.headSent) {
      // Too late for a local reply: the client sees a cut answer, never a complete-looking one.
      this.outgoing.destroy()
      this.finish!(-1)
    } else this.reject(this.unavailable(err))
  }

  /** The client closed its connection before the answer was complete. */
  private clientGone(): void {
    const headSent = this.headSent
    this.cut()
    if (headSent) this.finish!(-1)
    // Nobody to answer (logged as 499, as nginx does).
    else this.resolve({ status: 499, delivered: true, response: RESPONSE_ALREADY_SENT, done: Promise.resolve(-1) })
  }

  protected timedOut(what: string): void {
    if (this.settled) return
    const headSent = this.headSent
    this.cut()
    if (headSent) {
      this.outgoing.destroy()
      this.finish!(-1)
    } else this.reject(this.timeoutError(what))
  }

  /** The client's listeners go too. */
  protected override settle(): void {
    this.settled = true
    super.settle()
    this.outgoing.off('close', this.onClose)
    if (this.onDrain) this.outgoing.off('drain', this.onDrain)
  }
}
