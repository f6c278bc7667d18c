/**
 * The bare Bun forwarder: `Bun.serve` + fetch. Run with bun:
 *   PORT=19103 UPSTREAM=http://127.0.0.1:19100 bun bench/forwarders/bun-fetch.ts
 * (Typed loosely so that `tsc -p .` under Node types stays clean.)
 * @module
 */
const g = globalThis as any
const port = Number(g.process?.env?.PORT ?? 19103)
const upstream: string = g.process?.env?.UPSTREAM ?? 'http://127.0.0.1:19100'

g.Bun.serve({
  port,
  hostname: '127.0.0.1',
  fetch(req: Request) {
    const u = new URL(req.url)
    const headers = new Headers(req.headers)
    headers.delete('host')
    headers.delete('connection')
    return fetch(upstream + u.pathname + u.search, {
      method: req.method,
      headers,
      body: req.body,
      redirect: 'manual',
      decompress: false,
    } as RequestInit)
  },
})
