/**
 * Keep-alive HTTP/1.1 connections to upstream endpoints, on the main thread: one request at a
 * time per connection, idle connections reused newest first and closed after 60 s idle (or
 * the server's own shorter `Keep-Alive: timeout`), a request that meets a connection the
 * server had already closed sent again once on a new one.
 *
 * Sockets come from a `SocketConnector` of `Bun.connect`'s shape: Bun's own on Bun, node:net
 * adapted to it on Node (platforms/node/net-connector.ts). Why not the runtimes' clients: Bun's
 * fetch writes requests and reads answers on a thread of its own, ~12 µs of CPU per request on
 * top of the main thread's (bench/bun-ab.ts); undici on Node cost ~10 µs per request more than
 * this client in the same bare forwarder (bench/analysis.md, session 5).
 * @module
 */
import type { Buffer } from 'node:buffer'
import { ResponseReader, type ResponseHead, type ResponseSink } from './response-reader.ts'

/** One request as the pool carries it: its head, and where its response goes. */
export interface Exchange extends ResponseSink {
  /** The request head, written as is (again on a new connection when the first was stale). */
  readonly request: string | Uint8Array
  readonly headRequest: boolean
  /**
   * May be sent again when a reused connection turns out to have been closed by the server
   * before it answered: body-less requests of idempotent methods. Cleared once resent.
   */
  retryable: boolean
  /** Set once the caller gave up (client gone, timeout): a connection that opens late goes to the pool unused. */
  cancelled: boolean
  /** The connection carrying it, once written. */
  conn: Connection | undefined
  /** No (complete) response will come: refused, reset, closed early, malformed. */
  fail(err: Error): void
}

/** Idle connections are closed after this (nginx's upstream `keepalive_timeout`). */
export const IDLE_MS = 60_000
/** At most this many idle connections are kept per origin; more are closed as they come back. */
const MAX_IDLE = 256

/** A connected socket, as `Bun.connect` gives it (`data` is the connection it carries). */
export interface PoolSocket {
  data: Connection
  write(data: string | Uint8Array): number
  terminate(): void
  pause(): void
  resume(): void
  setNoDelay(on?: boolean): boolean
}
/** The socket's events, one object for every socket (`Bun.connect`'s `socket` option). */
export interface SocketHandlers {
  data(socket: PoolSocket, data: Buffer): void
  drain(socket: PoolSocket): void
  end(socket: PoolSocket): void
  close(socket: PoolSocket, error?: Error): void
  error(socket: PoolSocket, error: Error): void
  connectError(socket: PoolSocket, error: Error): void
}
/** Opens sockets: `Bun` itself on Bun. */
export interface SocketConnector {
  connect(options: { hostname: string; port: number; socket: SocketHandlers; data: Connection }): Promise<PoolSocket>
}

/** One upstream connection and the one request it carries at a time. */
export class Connection {
  socket: PoolSocket | undefined
  readonly reader = new ResponseReader()
  exchange: Exchange | undefined
  /** Responses completed on this connection: a failure on a used one may just be a stale connection. */
  served = 0
  idleSince = 0
  keepAliveMs = IDLE_MS
  closed = false
  private paused = false
  /** The part of a request head the socket did not take at once. */
  private unsent: string | Uint8Array | undefined
  /** Set when the connection fails before `open`: the connect promise is rejected with it. */
  connectFailure: Error | undefined

  constructor(readonly pool: OriginPool) {}

  send(exchange: Exchange): void {
    this.exchange = exchange
    exchange.conn = this
    this.reader.expect(this, exchange.headRequest)
    this.write(exchange.request)
  }

  drain(): void {
    if (this.unsent !== undefined) this.write(this.unsent)
  }

  /** Heads are ASCII (a latin1 one comes as bytes), so a string's length counts its bytes. */
  private write(data: string | Uint8Array): void {
    const written = Math.max(this.socket!.write(data), 0)
    // The kernel took less than the whole head (a full send buffer): the rest goes on `drain`.
    this.unsent = written >= data.length ? undefined : typeof data === 'string' ? data.slice(written) : data.subarray(written)
  }

  // The reader's sink: passes the response on, and on its end gives the connection back.
  head(head: ResponseHead): void {
    if (head.keepAliveMs !== undefined) this.keepAliveMs = Math.min(IDLE_MS, Math.max(0, head.keepAliveMs - 1000))
    this.exchange!.head(head)
  }

  body(chunk: Uint8Array): void {
    this.exchange!.body(chunk)
  }

  end(): void {
    const exchange = this.exchange!
    this.exchange = undefined
    this.served++
    // The last chunk may have paused it; the next request must find it reading.
    this.resume()
    if (this.reader.keepsConnection && this.unsent === undefined) this.pool.release(this)
    else this.destroy()
    exchange.end()
  }

  read(data: Buffer): void {
    try {
      this.reader.push(data)
    } catch (err) {
      this.failWith(err as Error)
    }
  }

  /** The server closed its side or the socket failed. */
  closedBy(error?: Error): void {
    if (this.closed) return
    this.closed = true
    this.pool.forget(this)
    try {
      // Ends a body framed by the close; nothing when no response was under way.
      this.reader.close()
    } catch (err) {
      this.failWith(error ?? (err as Error), true)
    }
  }

  /** Closes the connection; a request on it fails with `err`. */
  failWith(err: Error, alreadyClosed = false): void {
    const exchange = this.exchange
    this.exchange = undefined
    const stale = exchange !== undefined && this.served > 0 && !this.reader.started
    this.reader.abandon()
    if (!alreadyClosed) this.destroy()
    if (exchange) this.pool.failed(exchange, err, stale)
  }

  /** Cuts the connection at once (an abandoned request, a timeout, an error). */
  destroy(): void {
    this.reader.abandon()
    this.exchange = undefined
    if (!this.closed) {
      this.closed = true
      this.pool.forget(this)
    }
    this.socket?.terminate()
  }

  /** Stops reading while the client is slower than the upstream (backpressure). */
  pause(): void {
    if (this.paused || this.closed) return
    this.paused = true
    this.socket!.pause()
  }

  resume(): void {
    if (!this.paused) return
    this.paused = false
    if (!this.closed) this.socket!.resume()
  }
}

/** One handlers object for every socket: events reach the connection in `socket.data`. */
const handlers: SocketHandlers = {
  data: (socket, data) => socket.data.read(data),
  drain: (socket) => socket.data.drain(),
  end: (socket) => socket.data.closedBy(),
  close: (socket, error) => socket.data.closedBy(error),
  error: (socket, error) => socket.data.closedBy(error),
  connectError(socket, error) {
    socket.data.connectFailure = error
    socket.data.closed = true
  },
}

/** The connections to one origin (`http://host:port`). */
export class OriginPool {
  private readonly idle: Connection[] = []
  private readonly hostname: string
  private readonly port: number
  private sweeper: ReturnType<typeof setInterval> | undefined

  constructor(
    origin: string,
    private readonly connector: SocketConnector,
  ) {
    const url = new URL(origin)
    this.hostname = url.hostname.replace(/^\[|\]$/g, '')
    this.port = Number(url.port || 80)
  }

  /** Writes the exchange's request on an idle connection, or on a new one. */
  send(exchange: Exchange): void {
    const reused = this.take()
    if (reused) return reused.send(exchange)
    this.sendOnNew(exchange)
  }

  private sendOnNew(exchange: Exchange): void {
    this.connect().then(
      (conn) => (exchange.cancelled ? this.release(conn) : conn.send(exchange)),
      (err: Error) => exchange.cancelled || exchange.fail(err),
    )
  }

  /** Opens a new connection. Rejects when the endpoint cannot be reached. */
  connect(): Promise<Connection> {
    const conn = new Connection(this)
    return this.connector.connect({ hostname: this.hostname, port: this.port, socket: handlers, data: conn }).then(
      (socket) => {
        if (conn.closed) throw conn.connectFailure ?? new Error('connection closed while opening')
        conn.socket = socket
        socket.setNoDelay(true)
        return conn
      },
      (err: Error) => {
        throw conn.connectFailure ?? err
      },
    )
  }

  private take(): Connection | undefined {
    while (this.idle.length > 0) {
      const conn = this.idle.pop()!
      if (!conn.closed) return conn
    }
    return undefined
  }

  release(conn: Connection): void {
    if (conn.closed) return
    if (this.idle.length >= MAX_IDLE || conn.keepAliveMs === 0) return conn.destroy()
    conn.idleSince = Date.now()
    this.idle.push(conn)
    this.sweeper ??= this.startSweeper()
  }

  forget(conn: Connection): void {
    const i = this.idle.lastIndexOf(conn)
    if (i >= 0) this.idle.splice(i, 1)
  }

  /** A request failed on a connection; a stale connection's request goes again, once, on a new one. */
  failed(exchange: Exchange, err: Error, stale: boolean): void {
    if (exchange.cancelled) return
    if (!stale || !exchange.retryable) return exchange.fail(err)
    exchange.retryable = false
    exchange.conn = undefined
    this.sendOnNew(exchange)
  }

  /** Closes every idle connection (config no longer names this origin, or shutdown). */
  close(): void {
    for (const conn of this.idle.splice(0)) conn.destroy()
    if (this.sweeper) clearInterval(this.sweeper)
    this.sweeper = undefined
  }

  private startSweeper(): ReturnType<typeof setInterval> {
    const timer = setInterval(() => {
      const now = Date.now()
      // Oldest first: the stack is newest on top, so expired ones sit at the bottom.
      let n = 0
      while (n < this.idle.length && now - this.idle[n]!.idleSince >= this.idle[n]!.keepAliveMs) n++
      for (const conn of this.idle.splice(0, n)) conn.destroy()
      if (this.idle.length === 0) {
        clearInterval(timer)
        this.sweeper = undefined
      }
    }, 1000)
    ;(timer as unknown as { unref?(): void }).unref?.()
    return timer
  }
}

/** The pools of every origin, created as first used. */
export class ConnectionPools {
  private readonly pools = new Map<string, OriginPool>()

  constructor(private readonly connector: SocketConnector) {}

  get(origin: string): OriginPool {
    let pool = this.pools.get(origin)
    if (!pool) this.pools.set(origin, (pool = new OriginPool(origin, this.connector)))
    return pool
  }

  /** Drops the pools of origins no longer in use. */
  retain(origins: ReadonlySet<string>): void {
    for (const [origin, pool] of this.pools)
      if (!origins.has(origin)) {
        pool.close()
        this.pools.delete(origin)
      }
  }
}
