/**
 * HTTP Upgrade (WebSocket) pass-through: the platform forward for a request that arrived
 * as an Upgrade (the listener puts the client socket in `c.env.upgrade`). By the time it
 * runs, the chain has routed the request and run its policies; this sends the upgrade to
 * the chosen endpoint (TLS for https: origins), relays the endpoint's 101 and then copies
 * bytes both ways until either side closes or the tunnel sees nothing for the idle timeout.
 * A refusal from the endpoint (any other status) is relayed as it is.
 * @module
 */
import { request as httpRequest, STATUS_CODES, type IncomingMessage, type ClientRequest } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { isIP, type Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response'
import { LegateError } from '../../../protocol/errors.ts'
import type { UpstreamRequest, UpstreamResult, RequestContext } from '../../platform.ts'
import { upstreamHeaders } from '../../upstream/forward.ts'
import { connectionNamed, isHopByHop } from '../../upstream/hop-by-hop.ts'
import type { TlsSettings } from './tls-options.ts'

/** What the listener hands the forward for an Upgrade request (as `c.env.upgrade`). */
export interface UpgradeBinding {
  socket: Duplex
  /** Bytes the client sent after its request head. */
  head: Buffer
  /** ms without bytes either way before the tunnel is closed. */
  idleTimeout: number
  /** Set once the forward has answered on the socket itself (101 or the endpoint's refusal). */
  handled: boolean
  status?: number
  opened(): void
  closed(): void
}

export const upgradeOf = (c: RequestContext): UpgradeBinding | undefined => (c.env as { upgrade?: UpgradeBinding } | undefined)?.upgrade

function headBlock(status: number, raw: string[], edit: ((h: Headers) => void) | undefined, keepUpgrade: boolean): Buffer {
  const named: string[] = []
  if (!keepUpgrade) for (let i = 0; i < raw.length; i += 2) if (raw[i]!.toLowerCase() === 'connection') named.push(...connectionNamed(raw[i + 1]))
  const pairs: Array<[string, string]> = []
  for (let i = 0; i < raw.length; i += 2) {
    const lower = raw[i]!.toLowerCase()
    // A 101 must keep Connection/Upgrade; other answers are relayed with connection: close.
    if (keepUpgrade ? lower !== 'connection' && lower !== 'upgrade' && isHopByHop(lower) : isHopByHop(lower) || named.includes(lower)) continue
    if (!keepUpgrade && lower === 'content-length') continue
    pairs.push([raw[i]!, raw[i + 1]!])
  }
  let list = pairs
  if (edit) {
    const h = new Headers()
    for (const [k, v] of pairs) h.append(k, v)
    edit(h)
    list = []
    h.forEach((v, k) => list.push([k, v]))
  }
  let text = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n`
  for (const [k, v] of list) text += `${k}: ${v}\r\n`
  if (!keepUpgrade) text += 'connection: close\r\n'
  return Buffer.from(text + '\r\n', 'latin1')
}

/** Copies both ways; closes both when either closes, errs or stays silent too long. Resolves with the bytes sent to the client. */
function splice(client: Duplex, upstream: Socket, idleTimeout: number): Promise<number> {
  return new Promise((resolve) => {
    let bytes = 0
    let over = false
    const finish = () => {
      if (over) return
      over = true
      client.destroy()
      upstream.destroy()
      resolve(bytes)
    }
    upstream.on('data', (chunk: Buffer) => (bytes += chunk.length))
    // A FIN from one side is passed on (pipe ends the other), so each close is clean.
    upstream.pipe(client)
    client.pipe(upstream)
    for (const s of [client, upstream]) {
      s.on('error', finish)
      s.once('close', finish)
    }
    if (idleTimeout > 0) {
      // Activity either way keeps the tunnel; only silence on both sides closes it.
      const sock = client as Socket
      if (typeof sock.setTimeout === 'function') sock.setTimeout(idleTimeout, finish)
      else upstream.setTimeout(idleTimeout, finish)
    }
  })
}

export function upstreamError(err: unknown, origin: string): LegateError {
  const code = (err as { code?: string })?.code
  if (code === 'ETIMEDOUT' || code === 'UND_ERR_CONNECT_TIMEOUT') return new LegateError('upstream_timeout', `${origin} did not answer in time`, { cause: err })
  return new LegateError('upstream_unavailable', `cannot reach ${origin}: ${code ?? (err as Error)?.message ?? err}`, { cause: err })
}

export interface UpgradeTunnelOptions {
  /** TLS settings for an https: origin (CA, SNI, client certificate). */
  tlsFor(origin: string): TlsSettings | undefined
  connectTimeout?: number
}

export function createUpgradeTunnel(options: UpgradeTunnelOptions) {
  return (c: RequestContext, req: UpstreamRequest, binding: UpgradeBinding): Promise<UpstreamResult> => {
    const client = binding.socket
    const incoming = c.req.raw
    const headers = upstreamHeaders(incoming.headers, req)
    // upstreamHeaders drops hop-by-hop ones; an upgrade needs its two back.
    headers.set('connection', 'Upgrade')
    headers.set('upgrade', incoming.headers.get('upgrade') ?? 'websocket')
    const flat: Record<string, string> = {}
    headers.forEach((v, k) => (flat[k] = v))
    const url = new URL(req.origin)
    const secure = url.protocol === 'https:'
    const tls = secure ? options.tlsFor(req.origin) : undefined
    if (tls?.error) return Promise.reject(new LegateError('upstream_unavailable', `TLS settings for ${req.origin}: ${tls.error}`))

    return new Promise<UpstreamResult>((resolve, reject) => {
      let settled = false
      const send = secure ? httpsRequest : httpRequest
      const r: ClientRequest = send({
        host: url.hostname,
        port: url.port || (secure ? 443 : 80),
        method: req.method,
        path: req.path,
        headers: flat,
        agent: false,
        timeout: options.connectTimeout ?? 5_000,
        ...(secure ? { ca: tls?.ca, servername: tls?.servername ?? (isIP(url.hostname) ? undefined : url.hostname), cert: tls?.cert, key: tls?.key, rejectUnauthorized: true } : {}),
      })
      const onClientGone = () => {
        if (!settled) r.destroy(new Error('client closed the connection'))
      }
      client.once('close', onClientGone)
      const headersTimer = req.headersTimeout > 0 ? setTimeout(() => r.destroy(Object.assign(new Error('no answer'), { code: 'ETIMEDOUT' })), req.headersTimeout) : undefined
      const settle = () => {
        settled = true
        if (headersTimer) clearTimeout(headersTimer)
        client.off('close', onClientGone)
      }
      r.on('timeout', () => r.destroy(Object.assign(new Error('connect timeout'), { code: 'ETIMEDOUT' })))
      r.on('error', (err) => {
        if (settled) return
        settle()
        if (client.destroyed) resolve({ status: 499, delivered: true, response: RESPONSE_ALREADY_SENT, done: Promise.resolve(-1) })
        else reject(upstreamError(err, req.origin))
      })
      r.on('upgrade', (res: IncomingMessage, upstream: Socket, upstreamHead: Buffer) => {
        settle()
        if (client.destroyed) {
          upstream.destroy()
          return resolve({ status: 499, delivered: true, response: RESPONSE_ALREADY_SENT, done: Promise.resolve(-1) })
        }
        binding.handled = true
        binding.status = 101
        upstream.setNoDelay(true)
        client.write(headBlock(101, res.rawHeaders, req.editResponseHeaders, true))
        if (upstreamHead.length) client.write(upstreamHead)
        if (binding.head.length) upstream.write(binding.head)
        binding.opened()
        const done = splice(client, upstream, binding.idleTimeout).finally(() => binding.closed())
        resolve({ status: 101, delivered: true, response: RESPONSE_ALREADY_SENT, done })
      })
      r.on('response', (res: IncomingMessage) => {
        settle()
        const status = res.statusCode ?? 502
        if (req.accept && !req.accept(status)) {
          res.resume()
          return resolve({ status, delivered: false, response: RESPONSE_ALREADY_SENT, done: Promise.resolve(0) })
        }
        // The endpoint refused the upgrade: its answer goes to the client, then the connection closes.
        binding.handled = true
        binding.status = status
        client.write(headBlock(status, res.rawHeaders, req.editResponseHeaders, false))
        let bytes = 0
        res.on('data', (chunk: Buffer) => (bytes += chunk.length))
        const done = new Promise<number>((r2) => {
          res.once('end', () => r2(bytes))
          res.once('error', () => r2(-1))
        })
        res.pipe(client)
        resolve({ status, delivered: true, response: RESPONSE_ALREADY_SENT, done })
      })
      r.end()
    })
  }
}
