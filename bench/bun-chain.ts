/**
 * The core's own CPU cost per request on Bun, without sockets: `createAmbassador` with a
 * signed one-service config and a stub upstream forward that answers 100 bytes at once, then
 * N requests through `handlers.outbound` (what `Bun.serve` calls), closed loop at a given
 * concurrency. Prints µs per request (process CPU time and wall time) next to a floor: the same
 * loop through a handler that only builds the stub answer (with `--forward small-body`: next to
 * the bare forwarder's handler, bench/forwarders/bun-fetch.ts, against the same upstream). Run with Bun:
 *
 *   bun bench/bun-chain.ts [--requests 200000] [--concurrency 32] [--forward stub|small-body]
 *   bun --cpu-prof-md --cpu-prof-dir=/tmp/prof bench/bun-chain.ts     # where the time goes
 *   BUN_JSC_logGC=1 bun bench/bun-chain.ts --only legate --rounds 1 2>gc.log   # what it allocates
 *
 * (`--only floor|bare|legate` runs one handler; JavaScriptCore's GC log then shows the heap
 * before and after each collection, and the growth between collections over the requests run
 * (warm-up included: min(N, 20000) + N × rounds) is the JavaScript heap allocated per request.)
 *
 * `--forward small-body` uses the real Bun upstream leg (worker/platforms/web/small-body-forward.ts)
 * against UPSTREAM (default http://127.0.0.1:19600, e.g. the bench's nginx upstream).
 * @module
 */
import { parseArgs } from 'node:util'
import { createAmbassador, fetchHandler } from '../worker/app.ts'
import type { Platform, UpstreamForward } from '../worker/platform.ts'
import { createSmallBodyForward } from '../worker/platforms/web/small-body-forward.ts'
import { createTrustSet, generateSigningKey, importSigningKey, signConfig } from '../protocol/index.ts'

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '200000' },
    concurrency: { type: 'string', default: '32' },
    forward: { type: 'string', default: 'stub' },
    rounds: { type: 'string', default: '5' },
    only: { type: 'string' },
  },
})
const N = Number(values.requests)
const C = Number(values.concurrency)
const upstream = process.env.UPSTREAM ?? 'http://127.0.0.1:19600'
const BODY = 'a'.repeat(100)

const stub: UpstreamForward = async () => ({
  status: 200,
  delivered: true,
  response: new Response(BODY, { status: 200, headers: { 'content-type': 'text/plain', 'content-length': '100' } }),
  done: Promise.resolve(100),
})

const key = await generateSigningKey('bench', 'EdDSA')
const trust = await createTrustSet({ keys: [key.publicJwk] }, 'bench')
const jws = await signConfig({ mesh: 'bench', services: [{ name: 'echo', endpoints: [upstream] }] }, { ...(await importSigningKey(key.privateJwk, 'bench')), ttlSeconds: 3600 })
const platform: Platform = {
  name: 'bun',
  forward: values.forward === 'small-body' ? createSmallBodyForward() : stub,
  clientAddress: (c) => (c.env as { remoteAddr?: string }).remoteAddr ?? '',
  waitUntil: (_c, work) => void work.catch(() => {}),
  setInterval: (fn, ms) => {
    const t = setInterval(fn, ms)
    ;(t as { unref?: () => void }).unref?.()
    return { cancel: () => clearInterval(t) }
  },
  now: Date.now,
  log: () => {},
}
const amb = createAmbassador({
  platform,
  trust,
  mesh: 'bench',
  logLevel: 'silent',
  source: (holder) => ({ start: () => void holder.offer(jws, 'bench'), stop() {} }),
})
await amb.start()
while (!amb.holder.current) await new Promise((r) => setTimeout(r, 10))

type Handler = (req: Request, env: { remoteAddr: string }) => Promise<Response> | Response
const floor: Handler = async () => (await stub(undefined as never, undefined as never)).response
// What bench/forwarders/bun-fetch.ts does per request (only with --forward small-body).
const bare: Handler = (req) => {
  const u = new URL(req.url)
  const headers = new Headers(req.headers)
  headers.delete('host')
  headers.delete('connection')
  return fetch(upstream + u.pathname + u.search, { method: req.method, headers, redirect: 'manual', decompress: false } as RequestInit)
}
const all: Record<string, Handler> = values.forward === 'small-body' ? { bare, legate: fetchHandler(amb.handlers.outbound) } : { floor, legate: fetchHandler(amb.handlers.outbound) }
if (values.only && !all[values.only]) throw new Error(`--only: one of ${Object.keys(all).join(', ')}`)
const handlers = values.only ? { [values.only]: all[values.only]! } : all

async function run(h: Handler, n: number): Promise<{ cpuUs: number; wallUs: number; bad: number }> {
  let left = n
  let bad = 0
  const env = { remoteAddr: '127.0.0.1' }
  const c0 = process.cpuUsage()
  const t0 = performance.now()
  const worker = async () => {
    while (left-- > 0) {
      const res = await h(new Request('http://echo/100b', { headers: { host: 'echo', 'user-agent': 'wrk', accept: '*/*' } }), { ...env })
      const body = await res.arrayBuffer()
      if (res.status !== 200 || body.byteLength !== 100) bad++
    }
  }
  await Promise.all(Array.from({ length: C }, worker))
  const c = process.cpuUsage(c0)
  return { cpuUs: (c.user + c.system) / n, wallUs: ((performance.now() - t0) * 1000) / n, bad }
}

const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const results: Record<string, number[]> = {}
for (const name of Object.keys(handlers)) await run(handlers[name]!, Math.min(N, 20000)) // warm-up
for (let r = 0; r < Number(values.rounds); r++) {
  for (const [name, h] of Object.entries(handlers)) {
    const x = await run(h, N)
    if (x.bad) console.log(`${name}: ${x.bad} bad answers`)
    ;(results[name] ??= []).push(x.cpuUs)
  }
}
for (const [name, xs] of Object.entries(results)) console.log(`${name.padEnd(8)} ${med(xs).toFixed(2)} µs/req CPU (median of ${xs.length}; ${xs.map((x) => x.toFixed(2)).join(' ')})`)
const base = values.forward === 'small-body' ? 'bare' : 'floor'
if (!values.only) console.log(`legate − ${base}: ${(med(results.legate!) - med(results[base]!)).toFixed(2)} µs/req (forward: ${values.forward})`)
amb.stop()
process.exit(0)
