/**
 * Global rate limit through Redis (issue 7, §4): two ambassadors share one real
 * redis-server (started here on a free port, with its own temp dir); a paced load at 3×
 * the limit, split between them, is admitted at the shared limit within 5%. Then Redis
 * stops, and each policy's failure mode holds: open admits, closed refuses.
 */
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { Agent, request } from 'node:http'
import { hasRedis, startRedis, type RedisServer } from '../stores/redis-server.ts'
import { connectRedisLimiter, type ConnectedLimiter } from '../../worker/policy/node/connect-redis-limiter.ts'
import { createMesh, startInbound, type Inbound, type Mesh } from './fixtures.ts'
import { until } from '../worker/helpers.ts'

const skip = hasRedis() ? false : 'redis-server is not installed (apt-get install redis-server)'
let redis: RedisServer
let mesh: Mesh
let a: Inbound, b: Inbound
let storeA: ConnectedLimiter, storeB: ConnectedLimiter

const policies = {
  rateLimits: [
    { name: 'shared', key: 'global', scope: 'global', match: { path: { type: 'PathPrefix', value: '/shared' } }, limit: { requests: 50, per: '1s', burst: 75 } },
    { name: 'fail-open', key: 'global', scope: 'global', failureMode: 'open', match: { path: { type: 'PathPrefix', value: '/open' } }, limit: { requests: 1, per: '1m' } },
    { name: 'fail-closed', key: 'global', scope: 'global', failureMode: 'closed', match: { path: { type: 'PathPrefix', value: '/closed' } }, limit: { requests: 1000, per: '1s' } },
  ],
}

before(async () => {
  if (skip) return
  redis = await startRedis()
  mesh = await createMesh()
  // A loaded test machine can stall a process for longer than the 50 ms production default;
  // the timed test must measure the shared bucket, not the fail-open path.
  storeA = connectRedisLimiter(redis.url, { timeoutMs: 1000 })
  storeB = connectRedisLimiter(redis.url, { timeoutMs: 1000 })
  a = await startInbound(mesh, { rateLimitStore: storeA })
  b = await startInbound(mesh, { rateLimitStore: storeB })
  for (const x of [a, b]) await x.apply({ policies })
})

after(async () => {
  await a?.close()
  await b?.close()
  await storeA?.close()
  await storeB?.close()
  await redis?.stop()
})

function get(port: number, agent: Agent, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent, headers: { host: 'reviews' } }, (res) => {
      res.resume()
      res.on('end', () => resolve(res.statusCode ?? 0))
    })
    req.on('error', reject)
    req.end()
  })
}

test('two ambassadors sharing one Redis admit the shared limit within 5%', { skip, timeout: 30_000 }, async () => {
  const agent = new Agent({ keepAlive: true, maxSockets: 32 })
  // Open the connections first (outside the policy's match), so the timed run starts on time.
  await Promise.all(Array.from({ length: 64 }, (_, i) => get((i & 1 ? a : b).port, agent, '/warm')))
  const rps = 150
  const seconds = 5
  const start = performance.now()
  let last = start
  const pending: Promise<number>[] = []
  for (let i = 0; i < rps * seconds; i++) {
    const wait = start + (i * 1000) / rps - performance.now()
    if (wait > 1) await new Promise((r) => setTimeout(r, wait))
    last = performance.now()
    pending.push(get((i & 1 ? a : b).port, agent, '/shared/x'))
  }
  const statuses = await Promise.all(pending)
  agent.destroy()
  const span = (last - start) / 1000
  const admitted = statuses.filter((s) => s === 200).length
  const byA = statuses.filter((s, i) => s === 200 && i & 1).length
  const expected = 75 + 50 * span
  const error = Math.abs(admitted - expected) / expected
  console.log(`# redis: sent ${statuses.length} in ${span.toFixed(2)} s over two ambassadors, admitted ${admitted} (A ${byA}, B ${admitted - byA}), expected ${expected.toFixed(1)}, error ${(error * 100).toFixed(2)}%`)
  assert.ok(statuses.every((s) => s === 200 || s === 429))
  assert.ok(byA > 0 && admitted - byA > 0, 'both ambassadors admitted some')
  const metrics = await (await fetch(`http://127.0.0.1:${a.amb.ports.admin}/metrics`)).text()
  assert.doesNotMatch(metrics, /legate_ratelimit_store_errors_total\{policy="shared"[^}]*\} [1-9]/, 'Redis answered every take')
  assert.ok(error <= 0.05, `admitted ${admitted}, expected ${expected.toFixed(1)}`)
})

test('Redis stopped: fail-open admits, fail-closed refuses, within the store timeout, and both are counted', { skip, timeout: 30_000 }, async () => {
  const agent = new Agent({ keepAlive: true })
  // With Redis up: the fail-open policy's bucket (1 per minute) is shared and empties.
  assert.equal(await get(a.port, agent, '/open'), 200)
  assert.equal(await get(b.port, agent, '/open'), 429)
  await redis.stop()
  await until(async () => (await get(a.port, agent, '/open')) === 200, 5000)
  const t0 = performance.now()
  const open = await Promise.all(Array.from({ length: 20 }, (_, i) => get((i & 1 ? a : b).port, agent, '/open')))
  const closed = await Promise.all(Array.from({ length: 20 }, (_, i) => get((i & 1 ? a : b).port, agent, '/closed')))
  const ms = performance.now() - t0
  assert.deepEqual(new Set(open), new Set([200]))
  assert.deepEqual(new Set(closed), new Set([429]))
  assert.ok(ms < 2000, `40 requests took ${ms.toFixed(0)} ms with the store down`)
  const text = await (await fetch(`http://127.0.0.1:${a.amb.ports.admin}/metrics`)).text()
  assert.match(text, /legate_ratelimit_store_errors_total\{policy="fail-open",mode="open"\} [1-9]/)
  assert.match(text, /legate_ratelimit_store_errors_total\{policy="fail-closed",mode="closed"\} [1-9]/)
  agent.destroy()
})
