/**
 * The HTTP/2 upstream forward, for services declared `appProtocol: h2c` (cleartext, prior
 * knowledge) or `h2` (TLS with ALPN): one multiplexed `node:http2` session per endpoint,
 * reopened when it closes or receives GOAWAY, one stream per request. Because the chain
 * picks an endpoint for every request, gRPC calls are balanced per request even when they
 * all arrive on one client connection. Trailers pass through (`grpc-status`, `grpc-message`);
 * a gRPC "trailers-only" answer (status in the response head) is relayed the same way,
 * and the gRPC status is reported on the result for metrics and the access log.
 * @module
 */
import { connect, constants, type ClientHttp2Session, type ClientHttp2Stream, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http2'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { Http2ServerRequest, type Http2ServerResponse } from 'node:http2'
import { Readable } from 'node:stream'
import type { ReadableStream as NodeReadableStream } from 'node:stream/web'
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response'
import { LegateError } from '../../../protocol/errors.ts'
import type { UpstreamRequest, UpstreamResult, RequestContext } from '../../platform.ts'
import { upstreamHeaders } from '../../upstream/forward.ts'
import { connectionNamed, isHopByHop, staysOnHop } from '../../upstream/hop-by-hop.ts'
import type { TlsSettings } from './tls-options.ts'

export interface H2ForwardOptions {
  tlsFor(origin: string): TlsSettings | undefined
  /** ms to establish a session (default 5 s). */
  connectTimeout?: number
  /** ms an upstream session with no stream stays open (default 60 s). */
  idleTimeout?: number
}

/** The gRPC status travels in trailers; these move there when an answer carries them in its head. */
const GRPC_TRAILER_NAMES = ['grpc-status', 'grpc-message', 'grpc-status-details-bin']

/** gRPC status codes are 0..16; anything else is reported as "other" (a bounded label). */
const grpcCode = (v: unknown): string => {
  const s = String(Array.isArray(v) ? v[0] : v)
  return /^(1[0-6]|[0-9])$/.test(s) ? s : 'other'
}

const hasBody = (incoming: IncomingMessage | Http2ServerRequest): boolean => {
  if (incoming instanceof Http2ServerRequest) return !incoming.stream.endAfterHeaders && !incoming.readableEnded
  const h = incoming.headers
  return h['transfer-encoding'] !== undefined || (h['content-length'] !== undefined && h['content-length'] !== '0')
}

/** Request headers for the upstream stream: the client's minus pseudo, hop-by-hop (bar `te: trailers`), Host and `drop`; then `set`. */
function requestHeaders(c: RequestContext, incoming: IncomingMessage | Http2ServerRequest, req: UpstreamRequest, secure: boolean): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = { ':method': req.method, ':path': req.path, ':authority': req.host, ':scheme': secure ? 'https' : 'http' }
  let te = false
  if (req.editRequestHeaders) {
    upstreamHeaders(c.req.raw.headers, req).forEach((v, k) => {
      if (k !== 'host') out[k] = v
    })
  } else {
    const raw = incoming.rawHeaders
    let named: string[] = []
    for (let i = 0; i < raw.length; i += 2) if (raw[i]!.toLowerCase() === 'connection') named = named.concat(connectionNamed(raw[i + 1]))
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i]!.toLowerCase()
      if (name[0] === ':' || staysOnHop(name, named, req.drop)) continue
      const prev = out[name]
      out[name] = prev === undefined ? raw[i + 1]! : Array.isArray(prev) ? [...prev, raw[i + 1]!] : [String(prev), raw[i + 1]!]
    }
    for (let j = 0; j < req.set.length; j += 2) out[req.set[j]!] = req.set[j + 1]!
  }
  for (let i = 0; i < incoming.rawHeaders.length; i += 2) {
    if (incoming.rawHeaders[i]!.toLowerCase() === 'te' && /(^|,)\s*trailers\s*(,|$)/i.test(incoming.rawHeaders[i + 1]!)) te = true
  }
  // The only `te` HTTP/2 allows; gRPC servers may require it.
  if (te) out.te = 'trailers'
  return out
}

function responseHeaders(headers: IncomingHttpHeaders, req: UpstreamRequest, trailers: Record<string, string>): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {}
  for (const name in headers) {
    if (name[0] === ':' || isHopByHop(name)) continue
    out[name] = headers[name]
  }
  if (!req.editResponseHeaders) return out
  const h = new Headers()
  for (const name in out) {
    const v = out[name]
    if (Array.isArray(v)) for (const one of v) h.append(name, one)
    else if (v !== undefined) h.append(name, String(v))
  }
  req.editResponseHeaders(h)
  const edited: OutgoingHttpHeaders = {}
  h.forEach((v, k) => {
    if (!(k in trailers)) edited[k] = v
  })
  return edited
}

function upstreamError(err: unknown, origin: string, timedOut: boolean): LegateError {
  if (timedOut) return new LegateError('upstream_timeout', `${origin} did not answer in time`, { cause: err })
  const code = (err as { code?: string })?.code
  return new LegateError('upstream_unavailable', `cannot reach ${origin}: ${code ?? (err as Error)?.message ?? err}`, { cause: err })
}

export interface H2Forward {
  forward(c: RequestContext, req: UpstreamRequest): Promise<UpstreamResult>
  /** Closes sessions to origins no longer in use. */
  retain(origins: ReadonlySet<string>): void
  /** Closes one origin's session (its TLS settings changed). */
  drop(origin: string): void
  close(): Promise<void>
}

export function createH2Forward(options: H2ForwardOptions): H2Forward {
  const sessions = new Map<string, ClientHttp2Session>()
  /** Client request streams already piped upstream: a second try cannot send them again. */
  const streamed = new WeakSet<object>()
  const lastSessionError = new WeakMap<ClientHttp2Session, Error>()
  const activeStreams = new WeakMap<ClientHttp2Session, number>()

  const sessionFor = (origin: string): ClientHttp2Session => {
    const open = sessions.get(origin)
    if (open && !open.closed && !open.destroyed) return open
    const secure = origin.startsWith('https:')
    const tls = secure ? options.tlsFor(origin) : undefined
    if (tls?.error) throw new LegateError('upstream_unavailable', `TLS settings for ${origin}: ${tls.error}`)
    const session = connect(origin, {
      ...(secure ? { ca: tls?.ca, servername: tls?.servername, cert: tls?.cert, key: tls?.key, rejectUnauthorized: true, ALPNProtocols: ['h2'] } : {}),
    } as Parameters<typeof connect>[1])
    // A refused connection or failed handshake: kept to explain the stream errors it causes.
    session.on('error', (err) => (lastSessionError.set(session, err)))
    const forget = () => {
      if (sessions.get(origin) === session) sessions.delete(origin)
    }
    session.once('close', forget)
    // After GOAWAY no new stream may start here; the next request opens a fresh session.
    session.once('goaway', forget)
    session.setTimeout(options.idleTimeout ?? 60_000, () => {
      session.close()
      forget()
    })
    // Sessions do not keep the process alive while idle; streams do.
    session.unref()
    sessions.set(origin, session)
    return session
  }

  const forward = (c: RequestContext, req: UpstreamRequest): Promise<UpstreamResult> => {
    const { incoming, outgoing } = c.env as { incoming: IncomingMessage | Http2ServerRequest; outgoing: ServerResponse | Http2ServerResponse }
    const secure = req.origin.startsWith('https:')
    return new Promise<UpstreamResult>((resolve, reject) => {
      let session: ClientHttp2Session
      try {
        session = sessionFor(req.origin)
      } catch (err) {
        return reject(err)
      }
      let stream: ClientHttp2Stream
      // The retry step may hand over the body (buffered, or what is left of it); else the client's stream, once.
      const given = req.body
      const body = given !== undefined ? given !== null : hasBody(incoming)
      // A body already piped to an earlier try is gone (and the stream may look ended now).
      if ((given === undefined && streamed.has(incoming)) || (given instanceof ReadableStream && given.locked)) {
        return reject(new LegateError('upstream_unavailable', `the request body already went to another endpoint and cannot be sent to ${req.origin}`))
      }
      try {
        stream = session.request(requestHeaders(c, incoming, req, secure), { endStream: !body })
      } catch (err) {
        return reject(upstreamError(err, req.origin, false))
      }
      // Sessions keep the process alive only while a stream is open.
      activeStreams.set(session, (activeStreams.get(session) ?? 0) + 1)
      session.ref()
      let headSent = false
      let settled = false
      let timedOut = false
      let bytes = 0
      let lastError: Error | undefined
      let finish!: (n: number) => void
      const done = new Promise<number>((r) => (finish = r))
      const result: UpstreamResult & { grpcStatus?: string } = { status: 0, delivered: true, response: RESPONSE_ALREADY_SENT, done }

      const cancel = () => {
        if (!stream.closed) stream.close(constants.NGHTTP2_CANCEL)
      }
      const headersTimer = req.headersTimeout > 0 ? setTimeout(() => ((timedOut = true), cancel()), req.headersTimeout) : undefined
      const requestTimer = req.requestTimeout > 0 ? setTimeout(() => ((timedOut = true), cancel()), req.requestTimeout) : undefined
      const onClientGone = () => {
        if (!outgoing.writableFinished) cancel()
      }
      outgoing.once('close', onClientGone)

      if (given instanceof Uint8Array) stream.end(given)
      else if (body) {
        // Not before the session is up: a refused connection then leaves the body (the client's
        // stream, or the rest the retry step handed over) unread for a retry.
        const pipe = () => {
          if (stream.destroyed) return
          if (given) return void Readable.fromWeb(given as NodeReadableStream).pipe(stream)
          streamed.add(incoming)
          incoming.pipe(stream)
          incoming.once('error', cancel)
        }
        if (session.connecting) session.once('connect', pipe)
        else pipe()
      }

      stream.on('response', (headers, flags) => {
        if (headersTimer) clearTimeout(headersTimer)
        const status = Number(headers[':status'])
        result.status = status
        const headGrpc = headers['grpc-status']
        if (req.accept && !req.accept(status, headGrpc === undefined ? undefined : Number(headGrpc))) {
          settled = true
          cancel()
          return resolve({ status, delivered: false, response: RESPONSE_ALREADY_SENT, done: Promise.resolve(0) })
        }
        const trailers: Record<string, string> = {}
        const grpcInHead = headers['grpc-status'] !== undefined
        if (grpcInHead) {
          result.grpcStatus = grpcCode(headers['grpc-status'])
          for (const n of GRPC_TRAILER_NAMES) if (headers[n] !== undefined) trailers[n] = String(headers[n])
        }
        const out = responseHeaders(headers, req, trailers)
        // A trailers-only gRPC answer: the status goes in trailers, which every client reads.
        if (grpcInHead && outgoing.constructor.name === 'Http2ServerResponse') {
          for (const n of GRPC_TRAILER_NAMES) delete out[n]
          ;(outgoing as Http2ServerResponse).addTrailers(trailers)
        }
        void flags
        outgoing.writeHead(status, out as never)
        headSent = true
        settled = true
        resolve(result)
        stream.on('data', (chunk: Buffer) => (bytes += chunk.length))
        stream.pipe(outgoing as NodeJS.WritableStream)
      })
      stream.on('trailers', (trailers) => {
        if (trailers['grpc-status'] !== undefined) result.grpcStatus = grpcCode(trailers['grpc-status'])
        const out: Record<string, string> = {}
        for (const name in trailers) if (name[0] !== ':') out[name] = String(trailers[name])
        outgoing.addTrailers(out)
      })
      outgoing.once('finish', () => finish(req.method === 'HEAD' ? 0 : bytes))
      stream.once('close', () => {
        if (headersTimer) clearTimeout(headersTimer)
        if (requestTimer) clearTimeout(requestTimer)
        outgoing.off('close', onClientGone)
        const left = (activeStreams.get(session) ?? 1) - 1
        activeStreams.set(session, left)
        if (left === 0 && !session.destroyed) session.unref()
        const clean = stream.rstCode === constants.NGHTTP2_NO_ERROR
        if (!settled) {
          settled = true
          if (outgoing.destroyed) return resolve({ status: 499, delivered: true, response: RESPONSE_ALREADY_SENT, done: Promise.resolve(-1) })
          const reason = timedOut ? 'timeout' : `stream closed with code ${stream.rstCode}`
          const cause = (lastSessionError.get(session) ?? lastError) as { code?: string; message?: string } | undefined
          return reject(upstreamError(Object.assign(new Error(cause?.message ?? reason), { code: cause?.code ?? reason }), req.origin, timedOut))
        }
        if (headSent && !clean && !outgoing.writableFinished) {
          // Too late for a local reply: reset the client's stream (or cut its connection).
          outgoing.destroy()
          finish(-1)
        }
      })
      stream.on('error', (err) => {
        lastError = (err as { cause?: Error }).cause ?? err
      })
    })
  }

  return {
    forward,
    retain(origins) {
      for (const [origin, s] of sessions) {
        if (origins.has(origin)) continue
        sessions.delete(origin)
        s.close()
      }
    },
    drop(origin) {
      const s = sessions.get(origin)
      if (!s) return
      sessions.delete(origin)
      s.close()
    },
    async close() {
      const all = [...sessions.values()]
      sessions.clear()
      await Promise.all(all.map((s) => new Promise<void>((r) => (s.destroyed ? r() : (s.once('close', () => r()), s.destroy())))))
    },
  }
}
