/**
 * The Node platform's forward, by protocol: an Upgrade request is tunneled
 * (`upgrade-tunnel.ts`), a service declared `appProtocol: h2c | h2` goes over a multiplexed
 * HTTP/2 session (`h2-forward.ts`), everything else takes the undici fast path, with the
 * service's TLS settings for https: endpoints. It also enforces request body limits (the
 * listener's and the matched rule's `maxRequestBodyBytes`) and logs TLS handshake failures
 * with their reason. What it knows per endpoint origin comes from the applied config.
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { Http2ServerRequest, type Http2ServerResponse } from 'node:http2'
import { Readable } from 'node:stream'
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response'
import { LegateError } from '../../../protocol/errors.ts'
import type { UpstreamForward, UpstreamRequest, UpstreamResult, RequestContext } from '../../platform.ts'
import type { Snapshot } from '../../config/snapshot.ts'
import type { Logger } from '../../observe/access-log.ts'
import { createH2Forward } from './h2-forward.ts'
import { createUpgradeTunnel, upgradeOf } from './upgrade-tunnel.ts'
import { isTlsFailure, resolveTls, tlsConnector, tlsKey, type TlsSettings } from './tls-options.ts'
import type { buildConnector } from 'undici'

export type AppProtocol = 'http' | 'h2c' | 'h2'

interface OriginSettings {
  protocol: AppProtocol
  tls: TlsSettings | undefined
  key: string
}

export interface ProtocolForwardOptions {
  /** The HTTP/1.1 forward (undici). */
  base: UpstreamForward
  /** Drops the HTTP/1.1 pools of origins whose TLS settings changed (keeps `origins`). */
  retainBase(origins: ReadonlySet<string>): void
  connectTimeout?: number
}

export interface ProtocolForward {
  forward: UpstreamForward
  /** The TLS settings of an https: origin. */
  tlsFor(origin: string): TlsSettings | undefined
  /** The connector for an https: origin's undici pool (read when the pool is created); undefined for http:. */
  connectorFor(origin: string, timeout: number): buildConnector.connector | undefined
  /** Learns each endpoint's protocol and TLS settings from a newly applied config. */
  apply(snapshot: Snapshot): void
  /** Declares an origin outside the config (the inbound `--app`). */
  declare(origin: string, protocol: AppProtocol): void
  /** Where TLS failures and unusable TLS settings are reported. */
  setLogger(logger: Logger): void
  close(): Promise<void>
}

type Env = { incoming: IncomingMessage | Http2ServerRequest; outgoing: ServerResponse | Http2ServerResponse; maxBodyBytes?: number }

/**
 * An HTTP/2 client's request to an HTTP/1.1 upstream: headers from the web Request (no
 * pseudo-headers), and a body announced by the stream rather than by Content-Length.
 */
function fromHttp2(incoming: Http2ServerRequest, req: UpstreamRequest): boolean {
  req.editRequestHeaders ??= () => {}
  if (req.body === undefined && !incoming.stream.endAfterHeaders && !incoming.readableEnded && incoming.headers['content-length'] === undefined) {
    req.body = Readable.toWeb(incoming) as ReadableStream<Uint8Array>
    return true
  }
  return false
}

const smallest = (a: number | undefined, b: number | undefined) => (a && b ? Math.min(a, b) : a || b || 0)

export function createProtocolForward(options: ProtocolForwardOptions): ProtocolForward {
  let table = new Map<string, OriginSettings>()
  const declared = new Map<string, AppProtocol>()
  /** HTTP/2 client requests whose streamed body was handed to an HTTP/1.1 try. */
  const handedOver = new WeakSet<object>()
  let logger: Logger | undefined
  const tlsFor = (origin: string) => table.get(origin)?.tls
  const h2 = createH2Forward({ tlsFor, connectTimeout: options.connectTimeout })
  const tunnel = createUpgradeTunnel({ tlsFor, connectTimeout: options.connectTimeout })

  const tooLarge = (outgoing: Env['outgoing'], limit: number): UpstreamResult => {
    const body = JSON.stringify({ error: 'request_too_large', message: `the request body is over the ${limit}-byte limit` })
    if (!outgoing.headersSent && !outgoing.destroyed) {
      const headers: Record<string, string | number> = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }
      if (outgoing.constructor.name === 'ServerResponse') headers.connection = 'close'
      outgoing.writeHead(413, headers as never)
      outgoing.end(body)
    }
    return { status: 413, delivered: true, response: RESPONSE_ALREADY_SENT, done: Promise.resolve(Buffer.byteLength(body)), reason: 'request_too_large' }
  }

  const report = (err: unknown, origin: string) => {
    const cause = (err as { cause?: { code?: string; message?: string } })?.cause
    const code = cause?.code ?? (err as { code?: string })?.code
    if (logger && isTlsFailure(code)) logger.warn('upstream TLS handshake failed', { origin, reason: `${code}: ${cause?.message ?? (err as Error)?.message}` })
  }

  const forward: UpstreamForward = (c: RequestContext, req: UpstreamRequest) => {
    const upgrade = upgradeOf(c)
    if (upgrade) return tunnel(c, req, upgrade).catch((err) => (report(err, req.origin), Promise.reject(err)))
    const env = c.env as Env
    const limit = smallest(req.maxBodyBytes, env.maxBodyBytes)
    let over = false
    if (limit > 0) {
      const { incoming } = env
      const declaredLength = Number(incoming.headers['content-length'] ?? -1)
      if (declaredLength > limit) return Promise.resolve(tooLarge(env.outgoing, limit))
      if (declaredLength < 0 && incoming.method !== 'GET' && incoming.method !== 'HEAD') {
        // Counted as it streams; paused first so no chunk flows before the forward reads it.
        let seen = 0
        incoming.pause()
        incoming.on('data', (chunk: Buffer) => {
          seen += chunk.length
          if (seen > limit && !over) {
            over = true
            incoming.destroy(new LegateError('upstream_unavailable', `request body over ${limit} bytes`))
          }
        })
      }
    }
    const settings = table.get(req.origin)
    const protocol = settings?.protocol ?? declared.get(req.origin) ?? 'http'
    if (settings?.tls?.error) return Promise.reject(new LegateError('upstream_unavailable', `TLS settings for ${req.origin}: ${settings.tls.error}`))
    // An HTTP/2 client's request (its httpVersionMajor is a getter returning 2): one field read,
    // where `instanceof` walked the HTTP/1 request's prototype chain on every request.
    if (protocol === 'http' && env.incoming.httpVersionMajor === 2 && env.incoming instanceof Http2ServerRequest) {
      // Its streamed body went to an earlier try: never send what is left of it as if whole.
      if (handedOver.has(env.incoming)) return Promise.reject(new LegateError('upstream_unavailable', `the request body already went to another endpoint and cannot be sent to ${req.origin}`))
      if (fromHttp2(env.incoming, req)) handedOver.add(env.incoming)
    }
    const p = protocol === 'http' ? options.base(c, req) : h2.forward(c, req)
    // Nothing to add for a plain-http origin without a body limit (most requests): no
    // wrapper promise and no closures on the request path. TLS failures need an https: origin.
    if (limit <= 0 && !req.origin.startsWith('https:')) return p
    return p.then(
      (r) => (over ? tooLarge(env.outgoing, limit) : r),
      (err) => {
        if (over) return tooLarge(env.outgoing, limit)
        report(err, req.origin)
        throw err
      },
    )
  }

  return {
    forward,
    tlsFor,
    connectorFor: (origin, timeout) => (origin.startsWith('https:') ? tlsConnector(origin, tlsFor(origin), timeout) : undefined),
    declare(origin, protocol) {
      declared.set(origin, protocol)
    },
    setLogger(l) {
      logger = l
    },
    apply(snapshot) {
      const next = new Map<string, OriginSettings>()
      for (const service of snapshot.verified.config.services) {
        const tls = resolveTls(service.tls)
        if (tls?.error) logger?.error('service TLS settings unusable', { service: service.name, error: tls.error })
        const key = tlsKey(tls)
        for (const e of service.endpoints) next.set(e.url, { protocol: service.appProtocol ?? 'http', tls, key })
      }
      const keep = new Set<string>(declared.keys())
      let changed = false
      for (const [origin, s] of next) {
        const prev = table.get(origin)
        if (prev && (prev.key !== s.key || prev.protocol !== s.protocol)) {
          changed = true
          h2.drop(origin)
        } else keep.add(origin)
      }
      table = next
      // Pools built with old TLS settings go; the next request builds one with the new.
      if (changed) options.retainBase(keep)
      h2.retain(new Set([...next.keys(), ...declared.keys()]))
    },
    close: () => h2.close(),
  }
}
