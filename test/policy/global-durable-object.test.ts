/**
 * Global rate limit on workerd through a Durable Object (issue 7, §4): the workerd entry,
 * bundled with esbuild, runs as two separate workers in Miniflare (two edge ambassadors
 * in gateway mode); both bind `LEGATE_RATE_LIMITER` to the one `RateLimiterObject` class
 * (exported by the first). A paced load at 3× the limit, split between them, is admitted
 * at the shared limit within 5%.
 */
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { Miniflare } from 'miniflare'
import { createSigner, startUpstream, type Upstream } from '../worker/helpers.ts'
import { bundleWorkerd } from './fixtures.ts'

let up: Upstream
let mf: Miniflare

before(async () => {
  up = await startUpstream('echo')
  const signer = await createSigner('ops')
  const jws = await signer.sign(
    {
      mesh: 'demo',
      services: [{ name: 'echo', endpoints: [up.url] }],
      routes: [{ name: 'web', hostnames: ['web.example'], rules: [{ backendRefs: [{ name: 'echo' }] }] }],
      policies: { rateLimits: [{ name: 'edge', targets: ['echo'], key: 'global', scope: 'global', limit: { requests: 20, per: '1s', burst: 30 } }] },
    },
    1,
  )
  const script = await bundleWorkerd()
  const bindings = { LEGATE_MESH: 'demo', LEGATE_TRUST: JSON.stringify(signer.trust.jwks), LEGATE_CONFIG: jws, LEGATE_LOG_LEVEL: 'silent' }
  mf = new Miniflare({
    workers: [
      { name: 'edge-a', modules: true, script, compatibilityDate: '2026-04-01', bindings, durableObjects: { LEGATE_RATE_LIMITER: 'RateLimiterObject' } },
      { name: 'edge-b', modules: true, script, compatibilityDate: '2026-04-01', bindings, durableObjects: { LEGATE_RATE_LIMITER: { className: 'RateLimiterObject', scriptName: 'edge-a' } } },
    ],
  })
  await mf.ready
})

after(async () => {
  await mf?.dispose()
  await up?.close()
})

test('two workerd ambassadors sharing one Durable Object admit the shared limit within 5%', { timeout: 60_000 }, async () => {
  type Edge = { fetch(url: string): Promise<Response> }
  const a = (await mf.getWorker('edge-a')) as unknown as Edge
  const b = (await mf.getWorker('edge-b')) as unknown as Edge
  // warm both isolates (config verified, DO created) before timing
  for (const w of [a, b]) assert.ok([200, 429].includes((await w.fetch('http://web.example/warm')).status))
  await new Promise((r) => setTimeout(r, 1600)) // let the bucket refill to its burst (30 tokens at 20/s)

  const rps = 60
  const seconds = 4
  const start = performance.now()
  let last = start
  const pending: Promise<{ status: number; edge: string; headers: Headers }>[] = []
  for (let i = 0; i < rps * seconds; i++) {
    const wait = start + (i * 1000) / rps - performance.now()
    if (wait > 1) await new Promise((r) => setTimeout(r, wait))
    last = performance.now()
    const w = i & 1 ? a : b
    pending.push(
      w.fetch('http://web.example/api').then(async (res) => {
        await res.arrayBuffer()
        return { status: res.status, edge: i & 1 ? 'a' : 'b', headers: res.headers }
      }),
    )
  }
  const results = await Promise.all(pending)
  const span = (last - start) / 1000
  const admitted = results.filter((r) => r.status === 200)
  const expected = 30 + 20 * span
  const error = Math.abs(admitted.length - expected) / expected
  console.log(`# durable object: sent ${results.length} in ${span.toFixed(2)} s over two workers, admitted ${admitted.length} (a ${admitted.filter((r) => r.edge === 'a').length}), expected ${expected.toFixed(1)}, error ${(error * 100).toFixed(2)}%`)
  assert.ok(results.every((r) => r.status === 200 || r.status === 429))
  assert.ok(admitted.some((r) => r.edge === 'a') && admitted.some((r) => r.edge === 'b'))
  assert.ok(error <= 0.05, `admitted ${admitted.length}, expected ${expected.toFixed(1)}`)
  const limited = results.find((r) => r.status === 429)!
  assert.equal(limited.headers.get('ratelimit-policy'), '"edge";q=20;w=1')
  const metrics = await (await a.fetch('http://web.example/__legate/metrics')).text()
  assert.doesNotMatch(metrics, /legate_ratelimit_store_errors_total\{[^}]*\} [1-9]/, 'the store answered every time')
  assert.match(metrics, /legate_rate_limited_total\{policy="edge"\} [1-9]/)
})
