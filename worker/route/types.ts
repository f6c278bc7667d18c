/**
 * The shapes the routing core hands to the ambassador: what a request looks like to the
 * router, what a compiled rule offers, and the table that finds one. Everything here is
 * built once per config version (see `compile.ts`) and is immutable afterwards, so a config
 * swap is one pointer assignment and in-flight requests keep the table they started with.
 * @module
 */
import type { RouteFilter, RouteRule } from '../../protocol/schema.ts'
import type { HeaderReader } from '../platform.ts'

/** What the router looks at. Raw values: the router normalizes what it needs. */
export interface RouteRequest {
  /** The raw Host header: may carry `:port` (also `[::1]:8080`) and any letter case. */
  host: string
  /** The raw path, without the query. */
  path: string
  method: string
  headers: HeaderReader
  /** The raw search string without the leading `?`. */
  query: string
}

/** The request parts a redirect may keep or replace. */
export interface RedirectRequest {
  scheme: 'http' | 'https'
  /** The Host header as received (a `:port` in it is kept unless the redirect sets one). */
  host: string
  path: string
  /** Without the leading `?`; empty for none. */
  query: string
}

export interface RedirectResult {
  status: number
  location: string
}

export interface RewriteRequest {
  host: string
  path: string
}

/** One rule of one route, compiled: what the app needs once the router chose it. */
export interface CompiledRule {
  /** The route name; for an implicit service route, the service name. */
  readonly route: string
  /** The rule's index within its route (-1 for an implicit service route). */
  readonly index: number
  /** The normalized config rule (undefined for an implicit service route). */
  readonly rule: RouteRule | undefined
  /** A weighted pick among the backendRefs with weight > 0: a service name, or undefined when there is none. */
  pickBackend(): string | undefined
  /** Milliseconds; 0 or absent means none. */
  readonly timeouts: { request?: number; backendRequest?: number }
  readonly retry?: { attempts: number; codes: ReadonlySet<number>; grpcCodes?: ReadonlySet<number>; backoff: number }
  /** RequestHeaderModifier, compiled: edits the upstream request's headers in place. */
  readonly requestHeaders?: (headers: Headers) => void
  /** ResponseHeaderModifier, compiled: edits the downstream response's headers in place. */
  readonly responseHeaders?: (headers: Headers) => void
  /** RequestRedirect, compiled: the status and Location to answer with instead of forwarding. */
  readonly redirect?: (req: RedirectRequest, matchedPrefix: string | undefined) => RedirectResult
  /** URLRewrite, compiled: the host and path to send upstream. */
  readonly rewrite?: (req: RewriteRequest, matchedPrefix: string | undefined) => RewriteRequest
  /** Every filter as configured, for the filters other modules own (mirror, CORS, fault). */
  readonly filters: readonly RouteFilter[]
}

export interface RouteMatchResult {
  rule: CompiledRule
  /** The PathPrefix value that matched (as configured, trailing slash removed), for ReplacePrefixMatch. */
  matchedPrefix?: string
}

export interface RouteTable {
  /** The best rule for the request by Gateway API precedence, or undefined (→ 404 `no_route`). */
  match(req: RouteRequest): RouteMatchResult | undefined
  /** How many routes the table was compiled from (explicit routes only). */
  readonly routeCount: number
}
