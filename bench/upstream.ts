/**
 * The fixed upstream when nginx is not installed (or with `--upstream node`): node:http
 * answering fixed bodies. GET /100b, /64k, /1m; POST /upload reads the body and answers 100 B.
 *
 *   PORT=19100 node --import tsx bench/upstream.ts
 * @module
 */
import { createServer } from 'node:http'

export const BODIES: Record<string, Buffer> = {
  '/100b': Buffer.alloc(100, 'a'),
  '/64k': Buffer.alloc(64 * 1024, 'b'),
  '/1m': Buffer.alloc(1024 * 1024, 'c'),
}
const OK = BODIES['/100b']!

const port = Number(process.env.PORT ?? 19100)
const server = createServer((req, res) => {
  if (req.method === 'POST' || req.method === 'PUT') {
    let n = 0
    req.on('data', (c: Buffer) => (n += c.length))
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': OK.length, 'x-received': String(n) })
      res.end(OK)
    })
    return
  }
  const body = BODIES[req.url!.split('?')[0]!]
  if (!body) {
    res.writeHead(404, { 'content-length': 0 }).end()
    return
  }
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length })
  res.end(body)
})
server.keepAliveTimeout = 120_000
server.headersTimeout = 125_000
server.listen(port, '127.0.0.1')
// Exit cleanly on SIGTERM, so that --cpu-prof writes its profile.
process.once('SIGTERM', () => process.exit(0))
