/**
 * What differs by runtime, handed to `createAmbassador` by the entry file: the upstream
 * client, where last-known-good config is kept, the client address, background work,
 * timers and the clock. The core imports nothing else from its runtime.
 * @module
 */
import type { LocalReplyCode } from '../protocol/errors.ts'

/**
 * What the core reads of one request's context: the request, the runtime's bindings and,
 * on workerd, the execution context. Hono's `Context` is one; the routed listeners of the
 * entries make this much themselves and skip Hono's per-request context and router, which
 * routed traffic does not need (legate routes with its own table).
 */
export interface RequestContext {
  readonly req: { readonly url: string; readonly method: string; readonly raw: Request }
  /** The runtime's bindings: on Node `{ incoming, outgoing }`, on Bun/Deno `{ remoteAddr }`, on workerd the Worker env. */
  readonly env: unknown
  readonly executionCtx?: { waitUntil(work: Promise<unknown>): void }
}

/** One listener's whole request path, as the core runs it (errors already turned into a 500). */
export type ContextHandler = (c: RequestContext) => Promise<Response>

/**
 * The request headers as the core reads them: by name, lowercase, values of repeated
 * fields joined with ", " (as `Headers.get`). A web `Headers` is one; the Node platform
 * reads the parser's raw list instead, so a request that needs no full `Headers` never
 * builds one.
 */
export interface HeaderReader {
  get(name: string): string | null
}

/** One attempt at one endpoint, as the core decided it. */
export interface UpstreamRequest {
  /** The endpoint origin, e.g. `http://127.0.0.1:9001`. */
  origin: string
  method: string
  /** Path and query as sent upstream. */
  path: string
  /** The Host header sent upstream (the client's, or a URLRewrite hostname). */
  host: string
  /**
   * Headers the ambassador sets, replacing any the client sent under the same names, as
   * a flat `[name, value, ...]` list with lowercase names (x-forwarded-for, x-request-id,
   * traceparent, x-legate-source).
   */
  set: string[]
  /** Client headers never forwarded besides hop-by-hop ones (lowercase), e.g. x-legate-source inbound. */
  drop?: ReadonlySet<string>
  /** RequestHeaderModifier: edits the upstream headers (then materialized as Headers). */
  editRequestHeaders?: (headers: Headers) => void
  /** ResponseHeaderModifier: edits the response headers before they are sent. */
  editResponseHeaders?: (headers: Headers) => void
  /** ms until the response head must arrive (`timeouts.backendRequest`); 0: none. */
  headersTimeout: number
  /** ms until the whole exchange must be done (`timeouts.request`); 0: none. */
  requestTimeout: number
  /**
   * Called with the response status before anything is sent; false discards this response
   * (a retry policy wants another attempt) and the result says `delivered: false`.
   */
  accept?: (status: number, grpcStatus?: number) => boolean
  /**
   * The body to send instead of the client's stream: set by the retry step, which buffers a
   * small body (≤ 64 KiB) before the first try so every try can send it, or hands on what is
   * left of a larger one. Absent: the client's body as it streams in.
   */
  body?: Uint8Array | ReadableStream<Uint8Array> | null
  /** Request body bytes allowed (the rule's `maxRequestBodyBytes`); more → 413. Absent: no limit. */
  maxBodyBytes?: number
}

export interface UpstreamResult {
  status: number
  /** False when `accept` refused the response: nothing was sent to the client. */
  delivered: boolean
  /** What the Hono handler returns (on Node's fast path a marker: the response is already written). */
  response: Response
  /** Resolves once the body is done with the bytes sent to the client, -1 when cut short or unknown. */
  done: Promise<number>
  /** A gRPC answer's `grpc-status` (from trailers or a trailers-only head), set before `done` resolves. */
  grpcStatus?: string
  /** Set when the platform answered the client itself instead (a body over its limit: 413). */
  reason?: LocalReplyCode
}

/**
 * Forwards one attempt. Rejects with a `LegateError` when no response head arrived:
 * `upstream_timeout` (504) or `upstream_unavailable` (502: refused, reset, DNS).
 */
export type UpstreamForward = (c: RequestContext, req: UpstreamRequest) => Promise<UpstreamResult>

/** Where the last-known-good signed config is kept (a file on Node, KV on the edge). */
export interface StateStore {
  load(): Promise<string | undefined>
  save(jws: string): Promise<void>
}

/**
 * The process's own figures for the standard `process_*` metrics (what Prometheus client
 * libraries and Linkerd's proxy export); a field the runtime cannot tell is left out.
 */
export interface ProcessStats {
  /** User and system CPU time spent, in seconds. */
  cpuSeconds: number
  residentBytes: number
  /** JavaScript heap in use. */
  heapBytes?: number
  /** Seconds since the epoch. */
  startTimeSeconds: number
  openFds?: number
  maxFds?: number
}

export interface Timer {
  cancel(): void
}

export interface Platform {
  /** `node`, `deno`, `workerd`: shown in logs and /config. */
  readonly name: string
  forward: UpstreamForward
  /** The peer address of the request, or '' when the runtime cannot tell. */
  clientAddress(c: RequestContext): string
  /** The request's headers for reading (default: `c.req.raw.headers`). */
  requestHeaders?(c: RequestContext): HeaderReader
  /** Keeps background work alive past the response where the runtime needs it (workerd). */
  waitUntil(c: RequestContext | undefined, work: Promise<unknown>): void
  /** A repeating timer that does not keep the process alive by itself (health checks, polls). */
  setInterval(fn: () => void, ms: number): Timer
  /** Wall clock in ms since the epoch. */
  now(): number
  /** Omitted: nothing persists across restarts. */
  state?: StateStore
  /** Writes one log line (Node batches them). */
  log(line: string): void
  /** Called after each config swap with the origins now in use, so a platform may drop idle pools. */
  onOrigins?(origins: ReadonlySet<string>): void
  /** Read at each scrape of /metrics; omitted where a runtime has no process of its own (workerd). */
  processStats?(): ProcessStats
}
