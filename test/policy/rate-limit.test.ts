/**
 * Local rate limit acceptance (issue 7, §3): a paced load at 3× the limit through a real
 * ambassador's inbound listener admits burst + rate·T within 5%, refusals carry the IETF
 * headers; and one million distinct client addresses keep the key table, and the
 * process's memory, under the configured bound.
 */
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { Agent, request } from 'node:http'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { parseMeshConfig } from '../../protocol/index.ts'
import { compileRateLimits } from '../../worker/policy/rate-limiter.ts'
import { createMesh, startInbound, type Inbound } from './fixtures.ts'

let inbound: Inbound

before(async () => {
  inbound = await startInbound(await createMesh())
})
after(() => inbound?.close())

function get(port: number, agent: Agent, path: string): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent, headers: { host: 'reviews' } }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => (body += c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }))
    })
    req.on('error', reject)
    req.end()
  })
}

/** Sends `rps` requests per second for `seconds`, paced on a schedule; returns statuses and the span between first and last send. */
async function pacedLoad(rps: number, seconds: number, path: string) {
  const agent = new Agent({ keepAlive: true, maxSockets: 32 })
  const total = Math.round(rps * seconds)
  const start = performance.now()
  const pending: Promise<{ status: number; headers: Record<string, unknown>; body: string }>[] = []
  let last = start
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / rps
    const wait = due - performance.now()
    if (wait > 1) await new Promise((r) => setTimeout(r, wait))
    last = performance.now()
    pending.push(get(inbound.port, agent, path))
  }
  const results = await Promise.all(pending)
  agent.destroy()
  return { results, spanSeconds: (last - start) / 1000 }
}

test('at 3× the limit for 10 s, admitted = burst + rate·T within 5%; refusals are 429 with Retry-After and RateLimit headers', { timeout: 30_000 }, async () => {
  const requests = 40
  const burst = 60 // 1.5 s of refill: a scheduler stall shorter than that wastes no tokens
  await inbound.apply({
    policies: { rateLimits: [{ name: 'per-client', targets: ['reviews'], key: 'client-ip', match: { path: { type: 'PathPrefix', value: '/api' } }, limit: { requests, per: '1s', burst } }] },
  })
  const { results, spanSeconds } = await pacedLoad(requests * 3, 10, '/api/items')
  const admitted = results.filter((r) => r.status === 200).length
  const limited = results.filter((r) => r.status === 429)
  const expected = burst + requests * spanSeconds
  const error = Math.abs(admitted - expected) / expected
  console.log(`# sent ${results.length} in ${spanSeconds.toFixed(2)} s, admitted ${admitted}, expected ${expected.toFixed(1)}, error ${(error * 100).toFixed(2)}%`)
  assert.equal(admitted + limited.length, results.length)
  assert.ok(error <= 0.05, `admitted ${admitted}, expected ${expected.toFixed(1)} (${(error * 100).toFixed(1)}% off)`)
  const r = limited[0]!
  assert.equal(JSON.parse(r.body).error, 'rate_limited')
  assert.equal(r.headers['retry-after'], '1')
  assert.equal(r.headers['ratelimit-policy'], '"per-client";q=40;w=1')
  assert.match(String(r.headers['ratelimit']), /^"per-client";r=0;t=1$/)
  // Outside the match, the policy does not apply.
  const other = await pacedLoad(200, 0.5, '/other')
  assert.ok(other.results.every((x) => x.status === 200))
  const text = await (await fetch(`http://127.0.0.1:${inbound.amb.ports.admin}/metrics`)).text()
  assert.match(text, new RegExp(`legate_rate_limited_total\\{policy="per-client"\\} ${limited.length}\\b`))
  assert.match(text, /legate_local_replies_total\{reason="rate_limited"\} [1-9]/)
})

test('buckets survive a config update that leaves the policy unchanged', async () => {
  const policy = { name: 'tiny', key: 'global', limit: { requests: 2, per: '1m' } }
  await inbound.apply({ policies: { rateLimits: [policy] } })
  const agent = new Agent({ keepAlive: true })
  assert.deepEqual([(await get(inbound.port, agent, '/')).status, (await get(inbound.port, agent, '/')).status, (await get(inbound.port, agent, '/')).status], [200, 200, 429])
  await inbound.apply({ policies: { rateLimits: [policy], authorization: [{ name: 'allow-all', rules: [{}] }] } })
  assert.equal((await get(inbound.port, agent, '/')).status, 429, 'a new version must not refill the bucket')
  agent.destroy()
})

function gc() {
  setFlagsFromString('--expose-gc')
  ;(runInNewContext('gc') as () => void)()
}

const mb = (n: number) => (n / 1024 / 1024).toFixed(1)

/** Feeds one million distinct client addresses to a limiter keeping at most `maxKeys`; memory is read after a full GC with the limiter still live. */
async function millionKeys(maxKeys: number) {
  const [policy] = parseMeshConfig({
    mesh: 'demo',
    services: [{ name: 'reviews', endpoints: ['http://127.0.0.1:9'] }],
    policies: { rateLimits: [{ name: 'per-client', key: 'client-ip', limit: { requests: 10, per: '1s' } }] },
  }).policies.rateLimits
  gc()
  const before = process.memoryUsage()
  const limiter = compileRateLimits([policy!], { maxKeys })
  // One request object, its address changed in place: the loop measures the limiter's table, not the test's garbage.
  const req = { host: 'reviews', path: '/', method: 'GET', headers: new Headers(), query: '', source: undefined, ip: '' }
  for (let i = 0; i < 1_000_000; i++) {
    req.ip = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`
    await limiter.check('reviews', req)
  }
  gc()
  const after = process.memoryUsage()
  return { keys: limiter.keys('per-client'), heap: after.heapUsed - before.heapUsed, rss: after.rss - before.rss }
}

test('one million distinct client-ip keys: the table stays at its bound (100k) and memory with it', { timeout: 90_000 }, async () => {
  const bounded = await millionKeys(100_000)
  const unbounded = await millionKeys(1_000_000)
  console.log(`# 1M keys, bound 100k: live keys ${bounded.keys}, heap +${mb(bounded.heap)} MB, RSS +${mb(bounded.rss)} MB; with a 1M bound: heap +${mb(unbounded.heap)} MB`)
  assert.equal(bounded.keys, 100_000)
  assert.equal(unbounded.keys, 1_000_000)
  // 100k keys are a Map entry, a short string and two float64s each: well under 32 MB, and
  // a fraction of what the same flood costs when nothing bounds it.
  assert.ok(bounded.heap < 32 * 1024 * 1024, `heap grew by ${mb(bounded.heap)} MB`)
  assert.ok(bounded.heap * 3 < unbounded.heap, `bounded ${mb(bounded.heap)} MB vs unbounded ${mb(unbounded.heap)} MB`)
  // RSS also holds pages V8 has freed but not returned yet, so its bound is looser than the heap's.
  assert.ok(bounded.rss < 128 * 1024 * 1024, `RSS grew by ${mb(bounded.rss)} MB`)
})
