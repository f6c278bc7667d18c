/**
 * Listener limits on Node: what one client may cost the ambassador. Each has a default that
 * is safe for a sidecar (Envoy's where it has one) and a CLI flag (`legate ambassador --help`).
 * @module
 */

export interface ListenerLimits {
  /** Bytes of one request head (request line and headers); larger → 431. Node's default is 16 KiB. */
  maxHeaderBytes: number
  /** Header fields in one request; more → 431 (Envoy: 100). */
  maxHeaderCount: number
  /** ms for a whole request head to arrive (slowloris); the connection is cut with 408 after. */
  headersTimeout: number
  /** ms a keep-alive connection (or an HTTP/2 session) may sit idle between requests. */
  idleTimeout: number
  /** Connections open at once per listener; more are closed at accept. */
  maxConnections: number
  /** Request body bytes (0: no limit); a larger Content-Length → 413, a longer streamed body is cut. */
  maxRequestBodyBytes: number
  /** ms a WebSocket / Upgrade tunnel may see no bytes either way before both sides are closed. */
  tunnelIdleTimeout: number
}

export const DEFAULT_LIMITS: Readonly<ListenerLimits> = {
  maxHeaderBytes: 16 * 1024,
  maxHeaderCount: 100,
  headersTimeout: 10_000,
  idleTimeout: 60_000,
  maxConnections: 10_000,
  maxRequestBodyBytes: 0,
  tunnelIdleTimeout: 600_000,
}

/** How often Node checks header and request deadlines: a tenth of the headers timeout, within 250 ms..5 s. */
export const checkingInterval = (headersTimeout: number) => Math.min(5_000, Math.max(250, Math.floor(headersTimeout / 10)))

export const withDefaults = (limits: Partial<ListenerLimits> | undefined): ListenerLimits => {
  const out = { ...DEFAULT_LIMITS }
  for (const [k, v] of Object.entries(limits ?? {})) if (v !== undefined) (out as Record<string, number>)[k] = v
  return out
}
