/**
 * The bare Node forwarder: node:http server + undici `Pool.stream`, writing the upstream's
 * response straight into the server response. No routing, no policy: the limit legate's own
 * overhead on Node is measured against.
 *
 *   PORT=19102 UPSTREAM=http://127.0.0.1:19100 node --import tsx bench/forwarders/node-undici.ts
 * @module
 */
import { createServer, type IncomingHttpHeaders } from 'node:http'
import { Pool } from 'undici'

const port = Number(process.env.PORT ?? 19102)
const upstream = process.env.UPSTREAM ?? 'http://127.0.0.1:19100'
const pool = new Pool(upstream, { connections: 128, pipelining: 1, keepAliveTimeout: 60_000 })
const HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'host'])

function forwardHeaders(h: IncomingHttpHeaders | Record<string, string | string[] | undefined>) {
  const out: Record<string, string | string[]> = {}
  for (const k in h) if (!HOP.has(k) && h[k] !== undefined) out[k] = h[k]!
  return out
}

const server = createServer((req, res) => {
  const hasBody = req.method !== 'GET' && req.method !== 'HEAD'
  pool.stream(
    { path: req.url!, method: req.method as 'GET', headers: forwardHeaders(req.headers), body: hasBody ? req : null },
    ({ statusCode, headers }) => {
      res.writeHead(statusCode, forwardHeaders(headers))
      return res
    },
    (err) => {
      if (err && !res.headersSent) {
        res.writeHead(502).end()
      } else if (err) res.destroy()
    },
  )
})
server.keepAliveTimeout = 60_000
server.listen(port, '127.0.0.1')
// Exit cleanly on SIGTERM, so that --cpu-prof writes its profile.
process.once('SIGTERM', () => process.exit(0))
