/**
 * The bare Bun forwarder (bun-fetch.ts) with the pieces of legate-bun's own request path
 * added one at a time, to price each in a real `Bun.serve` server rather than in-process
 * (bench/bun-ab.ts `--pieces name=LIST`). PIECES is a comma list:
 *   ip       server.requestIP(req) (legate's client address, for x-forwarded-for and the log)
 *   json     upstream headers as a plain object from Headers.toJSON() (legate's Bun fast path)
 *   extra    the three headers legate adds upstream (x-forwarded-for, x-request-id, traceparent) and Host
 *   signal   the client's request.signal passed to fetch (client abort cancels the upstream request)
 *   rewrap   the answer read whole and answered as a new Response (legate's small-body path)
 *   async    six nested async frames around the handler (legate's chain has about that many)
 *   socket   legate's socket forward (worker/platforms/bun/socket-forward.ts: its own HTTP/1.1
 *            connections on Bun.connect) instead of fetch; it reads the headers with toJSON and
 *            subscribes to the request's signal itself, so json and signal do not apply
 *   PORT=19103 UPSTREAM=http://127.0.0.1:19100 PIECES=ip,signal bun bench/forwarders/bun-fetch-pieces.ts
 * (Typed loosely so that `tsc -p .` under Node types stays clean.)
 * @module
 */
import { createSocketForward } from '../../worker/platforms/bun/socket-forward.ts'

const g = globalThis as any
const env = g.process?.env ?? {}
const port = Number(env.PORT ?? 19103)
const upstream: string = env.UPSTREAM ?? 'http://127.0.0.1:19100'
const on = new Set(String(env.PIECES ?? '').split(',').filter(Boolean))
const [ip, json, extra, signal, rewrap, nested] = ['ip', 'json', 'extra', 'signal', 'rewrap', 'async'].map((p) => on.has(p))

const socketForward = on.has('socket') ? createSocketForward(() => Promise.reject(new Error('the socket forward declined'))) : undefined

let clients = 0
type Handle = () => Promise<Response>
const frame = async (next: Handle): Promise<Response> => await next()
const frames = (n: number, next: Handle): Promise<Response> => (n === 0 ? next() : frame(() => frames(n - 1, next)))

async function forward(req: Request, server: any): Promise<Response> {
  if (ip) clients += server.requestIP(req)?.address.length ?? 0
  const u = new URL(req.url)
  if (socketForward) {
    const set = extra ? ['x-forwarded-for', '127.0.0.1', 'x-request-id', '0123456789abcdef0123456789abcdef', 'traceparent', '00-0123456789abcdef0123456789abcdef-0123456789abcdef-01'] : []
    const path = u.pathname + u.search
    const sent = await socketForward({ req: { url: req.url, method: req.method, raw: req }, env: undefined }, { origin: upstream, method: req.method, path, host: 'echo', set, headersTimeout: 0, requestTimeout: 0 })
    return sent.response
  }
  let headers: any
  if (json) {
    headers = (req.headers as any).toJSON()
    delete headers.host
    delete headers.connection
  } else {
    headers = new Headers(req.headers)
    headers.delete('host')
    headers.delete('connection')
  }
  if (extra) {
    const set = (k: string, v: string) => (json ? (headers[k] = v) : headers.set(k, v))
    set('x-forwarded-for', '127.0.0.1')
    set('x-request-id', '0123456789abcdef0123456789abcdef')
    set('traceparent', '00-0123456789abcdef0123456789abcdef-0123456789abcdef-01')
    set('host', 'echo')
  }
  const init: any = { method: req.method, headers, redirect: 'manual', decompress: false }
  if (signal) init.signal = req.signal
  const res = await fetch(upstream + u.pathname + u.search, init)
  if (!rewrap) return res
  const body = await res.arrayBuffer()
  return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers })
}

g.Bun.serve({
  port,
  hostname: '127.0.0.1',
  idleTimeout: 255,
  fetch: (req: Request, server: unknown) => (nested ? frames(6, () => forward(req, server)) : forward(req, server)),
})
// Exit cleanly on SIGTERM, so that `bun --cpu-prof` writes its profile.
g.process?.once('SIGTERM', () => g.process.exit(0))
