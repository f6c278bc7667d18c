/**
 * One listening port that speaks HTTP/1.1 and HTTP/2 prior knowledge (h2c) alike: a plain
 * TCP server reads the first bytes of each connection and hands the socket to an http2 or
 * an http1 server that never listen themselves (the "PRI * HTTP/2.0" preface decides, as
 * Envoy's codec sniffing does). It also owns what a listener must enforce before any
 * routing: header size and count (431), slow headers (408, slowloris), idle keep-alive
 * connections, a cap on open connections, and HTTP Upgrade requests, which go through the
 * same fetch handler (route, policies) with the client socket in `env.upgrade` so the
 * platform forward can tunnel it (see `upgrade-tunnel.ts`). For graceful drain it can stop
 * accepting, ask every connection to finish, and say when none is left.
 * @module
 *
 * @example
 * const l = await createListener({ fetch: app.fetch, port: 15001, direction: 'outbound' })
 * await l.drain() // stop accepting, finish in-flight requests, close idle connections
 */
import { createServer as createNetServer, type Socket, type AddressInfo } from 'node:net'
import { createServer as createHttpServer, STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http'
import { createServer as createH2Server, type Http2ServerRequest, type Http2ServerResponse, type ServerHttp2Session } from 'node:http2'
import type { Duplex } from 'node:stream'
import { getRequestListener } from '@hono/node-server'
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response'
import { checkingInterval, withDefaults, type ListenerLimits } from './limits.ts'
import type { UpgradeBinding } from './upgrade-tunnel.ts'
import type { LocalReplyCode } from '../../../protocol/errors.ts'
import { BadRequest, requestUrl, serveContext, type NodeBindings } from './request-context.ts'
import type { ContextHandler } from '../../platform.ts'

export type FetchHandler = (request: Request, env: Record<string, unknown>) => Response | Promise<Response>

export interface ListenerEvents {
  /** An Upgrade request was answered: 101 (a tunnel opened) or the status of the refusal. */
  upgrade?(status: number): void
  /** Tunnels open on this listener changed to `open`. */
  tunnels?(open: number): void
  /** The listener answered a request itself, before any routing (a limit). */
  localReply?(code: LocalReplyCode): void
}

export interface ListenerOptions {
  /** Serves HTTP/2 streams and Upgrade requests; and HTTP/1.1 requests when there is no `handle`. */
  fetch: FetchHandler
  /** Routed listeners: HTTP/1.1 requests go to the core directly (see request-context.ts). */
  handle?: ContextHandler
  /** Given when `handle` may reject or throw: the answer for what it failed with (else the connection is cut). */
  failed?: (err: unknown) => Response
  port: number
  hostname?: string
  limits?: Partial<ListenerLimits>
  /** Accept HTTP Upgrade requests (WebSocket) and hand them to `fetch` with `env.upgrade`; else 501. */
  upgrades?: boolean
  events?: ListenerEvents
}

export interface Listener {
  readonly port: number
  /** TCP connections open now (HTTP/1.1, HTTP/2 sessions and tunnels). */
  readonly connections: number
  /** Tunnels open now. */
  readonly tunnels: number
  /**
   * Graceful drain: stops accepting, lets in-flight requests, streams and tunnels finish
   * (HTTP/1.1 responses say `Connection: close`, HTTP/2 sessions get GOAWAY) and closes
   * connections as they fall idle. Resolves once no connection is left.
   */
  drain(): Promise<void>
  /** Closes everything at once. */
  close(): Promise<void>
}

/** The HTTP/2 connection preface starts with this; no HTTP/1 request line can. */
const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n')
const isPreface = (chunk: Buffer) => {
  const n = Math.min(chunk.length, PREFACE.length)
  return n > 0 && chunk.subarray(0, n).equals(PREFACE.subarray(0, n))
}

/** Writes a whole response on a raw socket (refused upgrades, limits) and closes it. */
export function endSocket(socket: Duplex, status: number, headers: Record<string, string>, body: string | Uint8Array) {
  if (socket.destroyed) return
  const bytes = typeof body === 'string' ? Buffer.from(body) : body
  let head = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n`
  for (const [k, v] of Object.entries(headers)) {
    const lower = k.toLowerCase()
    if (lower === 'connection' || lower === 'content-length' || lower === 'transfer-encoding') continue
    head += `${k}: ${v}\r\n`
  }
  head += `content-length: ${bytes.length}\r\nconnection: close\r\n\r\n`
  socket.end(Buffer.concat([Buffer.from(head, 'latin1'), bytes]))
}

const jsonError = (error: string, message: string) => JSON.stringify({ error, message })

/** Node's own answers to a request it could not parse (what its default `clientError` handler writes). */
const PARSE_ERROR_STATUS: Record<string, number> = { HPE_CHUNK_EXTENSIONS_OVERFLOW: 413, ERR_HTTP_REQUEST_TIMEOUT: 408 }

/** The upgrade request as a web Request for the fetch handler (absolute-form targets kept). */
function upgradeRequest(req: IncomingMessage): Request {
  const target = req.url ?? '/'
  const url = /^https?:\/\//i.test(target) ? target : `http://${req.headers.host ?? 'localhost'}${target}`
  const headers = new Headers()
  const raw = req.rawHeaders
  for (let i = 0; i < raw.length; i += 2) headers.append(raw[i]!, raw[i + 1]!)
  return new Request(url, { method: req.method, headers })
}

/**
 * Hono answers HEAD by running the GET handler and wrapping its result in a new Response,
 * which hides the "already sent" marker of the Node fast path, so node-server would write
 * the head a second time (ERR_HTTP_HEADERS_SENT). A response the platform already wrote
 * stays the marker, whatever Hono made of it.
 */
async function answerHead(fetch: FetchHandler, request: Request, env: Record<string, unknown>): Promise<Response> {
  const response = await fetch(request, env)
  return (env.outgoing as { headersSent?: boolean } | undefined)?.headersSent ? RESPONSE_ALREADY_SENT : response
}

export function createListener(options: ListenerOptions): Promise<Listener> {
  const limits = withDefaults(options.limits)
  const hostname = options.hostname ?? '127.0.0.1'
  const maxBody = limits.maxRequestBodyBytes
  // The platform forward enforces the listener's body limit with the rule's (protocol-forward.ts).
  const limited: FetchHandler = maxBody > 0 ? (request, env) => ((env.maxBodyBytes = maxBody), options.fetch(request, env)) : options.fetch
  const fetch: FetchHandler = (request, env) => (request.method === 'HEAD' ? answerHead(limited, request, env) : limited(request, env))
  const h1Listener = getRequestListener(fetch as never)
  const handle = options.handle
  // Hono's default would destroy an HTTP/2 request stream still open two ticks after the
  // response head (its fast path returns before the body ends): fatal for gRPC streaming.
  const h2Listener = getRequestListener(fetch as never, { autoCleanupIncoming: false })

  const sockets = new Set<Socket>()
  const sessions = new Set<ServerHttp2Session>()
  let tunnels = 0
  let draining = false
  let idleWaiters: Array<() => void> = []
  const checkIdle = () => {
    if (!draining || sockets.size > 0) return
    const waiters = idleWaiters
    idleWaiters = []
    for (const w of waiters) w()
  }

  // ---- HTTP/1.1
  const h1 = createHttpServer({
    maxHeaderSize: limits.maxHeaderBytes,
    // A proxy streams long bodies: no overall request deadline, only the head's.
    requestTimeout: 0,
    headersTimeout: limits.headersTimeout,
    connectionsCheckingInterval: checkingInterval(limits.headersTimeout),
    keepAliveTimeout: limits.idleTimeout,
  } as Parameters<typeof createHttpServer>[0])
  h1.keepAliveTimeout = limits.idleTimeout
  // One more than allowed, so that "too many" is visible (Node drops the rest silently).
  h1.maxHeadersCount = limits.maxHeaderCount + 1
  const tooManyHeaders = (req: IncomingMessage) => req.rawHeaders.length / 2 > limits.maxHeaderCount

  const tooManyMessage = `more than ${limits.maxHeaderCount} header fields`
  h1.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (tooManyHeaders(req)) {
      options.events?.localReply?.('header_limit')
      res.shouldKeepAlive = false
      res.writeHead(431, { 'content-type': 'application/json' }).end(jsonError('header_limit', tooManyMessage))
      return
    }
    // Draining: answered, then the connection closes. Requests already in flight finish on
    // keep-alive connections, which the drain's sweep closes once idle (no per-request bookkeeping).
    if (draining) res.shouldKeepAlive = false
    if (!handle) return void h1Listener(req, res)
    let url: string
    try {
      url = requestUrl(req)
    } catch (err) {
      if (!(err instanceof BadRequest)) throw err
      options.events?.localReply?.('bad_request')
      res.shouldKeepAlive = false
      res.writeHead(400, { 'content-type': 'application/json' }).end(jsonError('bad_request', err.message))
      return
    }
    const env: NodeBindings = { incoming: req, outgoing: res }
    if (maxBody > 0) env.maxBodyBytes = maxBody
    serveContext(handle, url, req, res, env, options.failed)
  })

  h1.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => {})
    if (!options.upgrades) {
      options.events?.upgrade?.(501)
      return endSocket(socket, 501, { 'content-type': 'application/json' }, jsonError('not_implemented', 'this listener does not accept Upgrade requests'))
    }
    if (tooManyHeaders(req)) {
      options.events?.upgrade?.(431)
      options.events?.localReply?.('header_limit')
      return endSocket(socket, 431, { 'content-type': 'application/json' }, jsonError('header_limit', tooManyMessage))
    }
    const binding: UpgradeBinding = {
      socket,
      head,
      idleTimeout: limits.tunnelIdleTimeout,
      handled: false,
      opened() {
        tunnels++
        options.events?.tunnels?.(tunnels)
      },
      closed() {
        tunnels--
        options.events?.tunnels?.(tunnels)
      },
    }
    void (async () => {
      let response: Response
      try {
        response = await fetch(upgradeRequest(req), { incoming: req, outgoing: undefined, upgrade: binding })
      } catch {
        response = new Response(jsonError('internal', 'the ambassador failed to handle the upgrade'), { status: 500, headers: { 'content-type': 'application/json' } })
      }
      if (binding.handled) {
        options.events?.upgrade?.(binding.status ?? 101)
        return
      }
      // A local reply (policy refusal, no route, unreachable upstream): sent on the raw socket.
      options.events?.upgrade?.(response.status)
      const headers: Record<string, string> = {}
      response.headers.forEach((v, k) => (headers[k] = v))
      endSocket(socket, response.status, headers, new Uint8Array(await response.arrayBuffer().catch(() => new ArrayBuffer(0))))
    })()
  })
  // A request the parser refused. As Node's default handler, but an oversized head gets the
  // JSON local reply (and is counted) like every other limit of this listener.
  h1.on('clientError', (err: Error & { code?: string }, socket: Duplex & { bytesWritten?: number }) => {
    if (socket.writable && !socket.bytesWritten) {
      if (err.code === 'HPE_HEADER_OVERFLOW') {
        options.events?.localReply?.('header_limit')
        return endSocket(socket, 431, { 'content-type': 'application/json' }, jsonError('header_limit', `the request head is over ${limits.maxHeaderBytes} bytes`))
      }
      const status = PARSE_ERROR_STATUS[err.code ?? ''] ?? 400
      socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\n\r\n`)
    }
    socket.destroy(err)
  })
  // Connection tracking (closeIdleConnections, the headers/request deadline checks) starts
  // on 'listening'; this server never listens itself, so it is told.
  h1.emit('listening')

  // ---- HTTP/2 (prior knowledge)
  const h2 = createH2Server({
    // Pseudo-headers count as pairs too.
    maxHeaderListPairs: limits.maxHeaderCount + 4,
    settings: { maxHeaderListSize: limits.maxHeaderBytes },
  })
  h2.on('request', (req: Http2ServerRequest, res: Http2ServerResponse) => void h2Listener(req, res))
  h2.on('session', (session: ServerHttp2Session) => {
    sessions.add(session)
    let streams = 0
    session.on('stream', (stream) => {
      streams++
      stream.once('close', () => streams--)
    })
    // Idle sessions close (GOAWAY); one with a long stream open does not.
    session.setTimeout(limits.idleTimeout, () => {
      if (streams === 0) session.close()
    })
    session.once('close', () => sessions.delete(session))
    if (draining) session.close()
  })

  // ---- the port
  const tcp = createNetServer({ noDelay: true }, (socket) => {
    sockets.add(socket)
    socket.once('close', () => {
      sockets.delete(socket)
      checkIdle()
    })
    if (draining) return void socket.destroy()
    const onError = () => socket.destroy()
    socket.on('error', onError)
    // A connection that sends nothing is a slow header too.
    const timer = setTimeout(() => socket.destroy(), limits.headersTimeout)
    socket.once('data', (chunk: Buffer) => {
      clearTimeout(timer)
      socket.off('error', onError)
      socket.pause()
      socket.unshift(chunk)
      // http2 reads what is buffered itself (next tick); resuming here would drop it.
      if (isPreface(chunk)) h2.emit('connection', socket)
      else {
        h1.emit('connection', socket)
        socket.resume()
      }
    })
  })
  tcp.maxConnections = limits.maxConnections

  const closeIdle = () => {
    h1.closeIdleConnections()
  }

  return new Promise((resolve, reject) => {
    tcp.once('error', reject)
    tcp.listen(options.port, hostname, () => {
      tcp.off('error', reject)
      const port = (tcp.address() as AddressInfo).port
      resolve({
        port,
        get connections() {
          return sockets.size
        },
        get tunnels() {
          return tunnels
        },
        drain() {
          draining = true
          tcp.close()
          for (const s of sessions) s.close()
          closeIdle()
          const sweep = setInterval(closeIdle, 100)
          return new Promise<void>((done) => {
            idleWaiters.push(() => {
              clearInterval(sweep)
              done()
            })
            checkIdle()
          })
        },
        close() {
          draining = true
          for (const s of sessions) s.destroy()
          for (const s of sockets) s.destroy()
          h1.close()
          h2.close()
          return new Promise<void>((done) => {
            if (!tcp.listening) return done()
            tcp.close(() => done())
          })
        },
      })
    })
  })
}
