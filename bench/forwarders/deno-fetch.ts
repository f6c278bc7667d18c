/**
 * The bare Deno forwarder: `Deno.serve` + fetch. Run with deno:
 *   PORT=19104 UPSTREAM=http://127.0.0.1:19100 deno run --allow-net --allow-env bench/forwarders/deno-fetch.ts
 * (Typed loosely so that `tsc -p .` under Node types stays clean.)
 * @module
 */
const g = globalThis as any
const port = Number(g.Deno.env.get('PORT') ?? 19104)
const upstream: string = g.Deno.env.get('UPSTREAM') ?? 'http://127.0.0.1:19100'

g.Deno.serve({ port, hostname: '127.0.0.1', onListen() {} }, (req: Request) => {
  const u = new URL(req.url)
  const headers = new Headers(req.headers)
  headers.delete('host')
  headers.delete('connection')
  return fetch(upstream + u.pathname + u.search, { method: req.method, headers, body: req.body, redirect: 'manual' })
})
