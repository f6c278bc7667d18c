/**
 * The per-request record every stage reads and fills: one object per request, so the
 * observe step at the end (metrics, access log) needs nothing else.
 * @module
 */
import type { RouteMatchResult } from './route/types.ts'
import type { Snapshot } from './config/snapshot.ts'
import type { TraceContext } from './observe/trace-context.ts'
import type { HeaderReader } from './platform.ts'

export type Direction = 'inbound' | 'outbound' | 'gateway'

export interface Exchange {
  readonly direction: Direction
  /** The config this request runs on, read once when it arrived. */
  readonly snapshot: Snapshot | undefined
  /** performance.now() at arrival. */
  readonly start: number
  /** Date.now() at arrival. */
  readonly time: number
  readonly requestId: string
  readonly trace: TraceContext
  /** The peer address ('' when unknown). */
  readonly client: string
  readonly method: string
  /** Host as the client addressed it (lowercase, may carry :port). */
  readonly host: string
  /** Path without the query. */
  readonly path: string
  /** Query without the `?`; '' for none. */
  readonly query: string
  /** The client's request headers (read-only: edits go through `UpstreamRequest`). */
  readonly headers: HeaderReader
  match: RouteMatchResult | undefined
  /** Metrics/log labels: from the config only. */
  route: string
  service: string
  endpoint: string
  /** The local-reply code when the ambassador answered itself. */
  reason: string
  /** The verified source service (identity filter), sent upstream as x-legate-source on inbound. */
  source: string | undefined
  /** Response header edits collected by stages (CORS, ResponseHeaderModifier). */
  responseEdits: Array<(headers: Headers) => void> | undefined
  /** Header name/value pairs stages add to the upstream request (the outbound identity token). */
  upstreamSet?: string[]
  /** The answer's grpc-status, for gRPC calls (metrics and the access log). */
  grpcStatus?: string
}
