import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { ServiceConfig } from '../../../../protocol/schema.ts'
import { LegateError } from '../../../../protocol/errors.ts'
import { createServiceUpstream, type TryRequest } from '../../../../worker/upstream/service-upstream.ts'

const service = (over: Partial<ServiceConfig> = {}): ServiceConfig => ({
  name: 'echo',
  endpoints: [
    { url: 'http://a', weight: 1 },
    { url: 'http://b', weight: 1 },
    { url: 'http://c', weight: 1 },
  ],
  loadBalancing: 'round-robin',
  hashKey: 'client-ip',
  ...over,
})
const retry = { attempts: 2, codes: new Set([503]), backoff: 1 }
const refused = () => new LegateError('upstream_unavailable', 'refused', { cause: new TypeError('fetch failed', { cause: { code: 'ECONNREFUSED' } }) })

/** A fake try: each origin answers with a status or throws, as `behaviour` says. */
function fake(behaviour: Record<string, number | 'refuse' | 'hang'>) {
  const seen: string[] = []
  const fn = async (t: TryRequest) => {
    seen.push(t.origin)
    const b = behaviour[t.origin] ?? 200
    if (b === 'refuse') throw refused()
    if (b === 'hang') {
      await new Promise((r) => setTimeout(r, t.headersTimeout))
      throw new LegateError('upstream_timeout', 'slow')
    }
    return { status: b, delivered: t.accept(b) }
  }
  return { fn, seen }
}

test('a refused connect is retried on another endpoint; the client sees the answer', async () => {
  const u = createServiceUpstream(service())
  const { fn, seen } = fake({ 'http://a': 'refuse' })
  const r = await u.call(fn, { retry, replayable: true })
  assert.equal(r.status, 200)
  assert.deepEqual(seen, ['http://a', 'http://b'])
})

test('a listed code is retried; the last answer stands when attempts run out', async () => {
  const u = createServiceUpstream(service())
  const { fn, seen } = fake({ 'http://a': 503, 'http://b': 503, 'http://c': 503 })
  const r = await u.call(fn, { retry, replayable: true })
  assert.equal(r.status, 503)
  assert.equal(r.delivered, true)
  assert.equal(seen.length, 3)
  assert.equal(new Set(seen).size, 3, 'each try on another endpoint')
})

test('no retry without a policy, or when the body cannot be replayed', async () => {
  const u = createServiceUpstream(service())
  const { fn, seen } = fake({ 'http://a': 'refuse', 'http://b': 'refuse', 'http://c': 'refuse' })
  await assert.rejects(u.call(fn, { replayable: true }), { code: 'upstream_unavailable' })
  await assert.rejects(u.call(fn, { retry, replayable: false }), { code: 'upstream_unavailable' })
  assert.equal(seen.length, 2, 'one try each')
  await assert.rejects(u.call(fn, { retry, replayable: true }), { code: 'upstream_unavailable' })
  assert.equal(seen.length, 5, 'a replayable request: 1 + 2 attempts')
})

test('consecutive failures eject an endpoint: later requests do not touch it', async () => {
  const u = createServiceUpstream(service({ outlierDetection: { consecutive5xx: 2, interval: 10_000, baseEjectionTime: 30_000, maxEjectionPercent: 50 } }))
  const { fn, seen } = fake({ 'http://b': 'refuse' })
  for (let i = 0; i < 30; i++) await u.call(fn, { retry, replayable: true })
  const toB = seen.filter((s) => s === 'http://b').length
  assert.equal(toB, 2, 'two failures, then ejected')
  assert.ok(u.set.endpoints[1]!.ejectedUntil > Date.now())
})

test('a hanging endpoint fails over after backendRequest; the overall request timeout holds', async () => {
  const u = createServiceUpstream(service())
  const { fn, seen } = fake({ 'http://a': 'hang' })
  const t0 = Date.now()
  const r = await u.call(fn, { retry, replayable: true, timeouts: { request: 1000, backendRequest: 50 } })
  assert.equal(r.status, 200)
  assert.ok(Date.now() - t0 < 200)
  assert.deepEqual(seen, ['http://a', 'http://b'])

  const all = fake({ 'http://a': 'hang', 'http://b': 'hang', 'http://c': 'hang' })
  const t1 = Date.now()
  await assert.rejects(u.call(all.fn, { retry: { ...retry, attempts: 10 }, replayable: true, timeouts: { request: 120, backendRequest: 50 } }), { code: 'upstream_timeout' })
  const took = Date.now() - t1
  assert.ok(took >= 115 && took < 250, `overall timeout held: ${took} ms`)
})

test('the circuit breaker refuses at once over maxRequests', async () => {
  const u = createServiceUpstream(service({ circuitBreaker: { maxRequests: 2, maxConnections: 10, maxPendingRequests: 0, maxRetries: 3 } }))
  let release!: () => void
  const gate = new Promise<void>((r) => (release = r))
  const slow = async (t: TryRequest) => {
    await gate
    return { status: 200, delivered: t.accept(200) }
  }
  const a = u.call(slow, { replayable: true })
  const b = u.call(slow, { replayable: true })
  await assert.rejects(u.call(slow, { replayable: true }), { code: 'circuit_open' })
  release()
  await Promise.all([a, b])
  assert.equal((await u.call(slow, { replayable: true })).status, 200)
})

test('retries stay within the budget when everything fails', async () => {
  const u = createServiceUpstream(service(), { retryBudget: { ratio: 0.2, minPerSecond: 1, windowMs: 10_000 } })
  const { fn, seen } = fake({ 'http://a': 503, 'http://b': 503, 'http://c': 503 })
  const n = 200
  for (let i = 0; i < n; i++) await u.call(fn, { retry, replayable: true })
  // 200 requests earn 40 retries, plus a floor of 10 in the window.
  assert.equal(seen.length - n, 50)
})

test('endpoint state and the retry budget survive a config update', () => {
  const v1 = createServiceUpstream(service())
  v1.set.endpoints[0]!.ejectedUntil = Date.now() + 60_000
  const v2 = createServiceUpstream(service({ loadBalancing: 'least-request' }), { previous: v1 })
  assert.equal(v2.set.endpoints[0], v1.set.endpoints[0])
  assert.equal(v2.budget, v1.budget)
  for (let i = 0; i < 20; i++) assert.notEqual(v2.pick().url, 'http://a')
})

test('a config update with the same health checks keeps the running checker; a changed one restarts it', () => {
  const timers: { fn: () => void; cancelled: boolean }[] = []
  const healthChecks = {
    setInterval: (fn: () => void) => {
      const t = { fn, cancelled: false }
      timers.push(t)
      return { cancel: () => void (t.cancelled = true) }
    },
    fetch: (async () => new Response(null, { status: 200 })) as typeof fetch,
  }
  const hc = { path: '/healthz', interval: 5000, timeout: 1000, unhealthyThreshold: 3, healthyThreshold: 2 }
  const v1 = createServiceUpstream(service({ healthCheck: hc }), { healthChecks })
  assert.equal(timers.length, 3, 'one probe loop per endpoint')
  const v2 = createServiceUpstream(service({ healthCheck: hc, loadBalancing: 'random' }), { previous: v1, healthChecks })
  assert.equal(v2.checker, v1.checker)
  assert.equal(timers.length, 3)
  assert.ok(timers.every((t) => !t.cancelled))
  const v3 = createServiceUpstream(service({ healthCheck: { ...hc, interval: 1000 } }), { previous: v2, healthChecks })
  assert.notEqual(v3.checker, v2.checker)
  assert.ok(timers.slice(0, 3).every((t) => t.cancelled), 'the old loops stopped')
  assert.equal(timers.length, 6)
  v3.stop()
  assert.ok(timers.every((t) => t.cancelled))
})

test('a request whose body still streams keeps its endpoint busy and its breaker slot taken until done', async () => {
  const u = createServiceUpstream(service({ circuitBreaker: { maxRequests: 1, maxConnections: 1, maxPendingRequests: 0, maxRetries: 1 } }))
  let finish!: () => void
  const done = new Promise<void>((r) => (finish = r))
  const r = await u.call(async (t) => ({ status: 200, delivered: t.accept(200), done }), { replayable: true })
  assert.equal(r.status, 200)
  const busy = u.set.endpoints.find((e) => e.active === 1)
  assert.ok(busy, 'the endpoint still counts the streaming request')
  assert.deepEqual(u.breaker!.stats, { requests: 1, connections: 1, pending: 0, retries: 0 })
  await assert.rejects(u.call(async (t) => ({ status: 200, delivered: t.accept(200) }), { replayable: true }), { code: 'circuit_open' })
  finish()
  await done
  await new Promise((res) => setImmediate(res))
  assert.equal(busy.active, 0)
  assert.deepEqual(u.breaker!.stats, { requests: 0, connections: 0, pending: 0, retries: 0 })
})

test('a config update keeps the balancer when policy and endpoints are unchanged, and rebuilds it otherwise', () => {
  const v1 = createServiceUpstream(service({ loadBalancing: 'ring-hash', hashKey: 'header:x-user' }))
  const v2 = createServiceUpstream(service({ loadBalancing: 'ring-hash', hashKey: 'header:x-user', outlierDetection: { consecutive5xx: 3, interval: 1000, baseEjectionTime: 1000, maxEjectionPercent: 50 } }), { previous: v1 })
  assert.equal(v2.balancer, v1.balancer, 'same ring')
  const reweighted = service({ loadBalancing: 'ring-hash', hashKey: 'header:x-user' })
  reweighted.endpoints[0] = { url: 'http://a', weight: 3 }
  const v3 = createServiceUpstream(reweighted, { previous: v2 })
  assert.notEqual(v3.balancer, v2.balancer, 'a weight changed: new ring')
  const v4 = createServiceUpstream(service({ loadBalancing: 'round-robin' }), { previous: v3 })
  assert.notEqual(v4.balancer, v3.balancer, 'another policy')
})

// The single-try path (no breaker, no retry policy): every plain request goes through it.
test('one try without breaker or retries: outlier outcomes, active counts, timeouts and thrown errors', async () => {
  const u = createServiceUpstream(service({ outlierDetection: { consecutive5xx: 2, interval: 10_000, baseEjectionTime: 30_000, maxEjectionPercent: 50 } }))
  // 5xx answers reach outlier detection through `accept`, and are delivered (nothing to retry).
  const { fn, seen } = fake({ 'http://a': 503 })
  for (let i = 0; i < 9; i++) assert.equal((await u.call(fn, { replayable: true })).status, seen.at(-1) === 'http://a' ? 503 : 200)
  assert.equal(seen.filter((s) => s === 'http://a').length, 2, 'two 5xx answers, then ejected')
  // A refused connect ejects too, and is the client's 502 at once.
  const b = createServiceUpstream(service({ outlierDetection: { consecutive5xx: 1, interval: 10_000, baseEjectionTime: 30_000, maxEjectionPercent: 50 } }))
  await assert.rejects(b.call(fake({ 'http://a': 'refuse' }).fn, { replayable: true }), { code: 'upstream_unavailable' })
  assert.ok(b.set.endpoints[0]!.ejectedUntil > Date.now())
  assert.ok(b.set.endpoints.every((e) => e.active === 0))
  // For least-request, a streaming body keeps its endpoint busy until it is done; other
  // policies do not read the count, and plain tries to them leave it alone.
  const lr = createServiceUpstream(service({ loadBalancing: 'least-request' }))
  let finish!: () => void
  const done = new Promise<void>((r) => (finish = r))
  await lr.call(async (t) => ({ status: 200, delivered: t.accept(200), done }), { replayable: true })
  assert.equal(lr.set.endpoints.filter((e) => e.active === 1).length, 1)
  let finish2!: () => void
  const done2 = new Promise<void>((r) => (finish2 = r))
  await lr.call(async (t) => ({ status: 200, delivered: t.accept(200), done: done2 }), { replayable: true })
  assert.equal(lr.set.endpoints.filter((e) => e.active === 1).length, 2, 'the second try went to the idle endpoint')
  finish()
  finish2()
  await new Promise((res) => setImmediate(res))
  assert.ok(lr.set.endpoints.every((e) => e.active === 0))
  await b.call(async (t) => ({ status: 200, delivered: t.accept(200), done: new Promise(() => {}) }), { replayable: true })
  assert.ok(b.set.endpoints.every((e) => e.active === 0))
  // The overall timeout passing while the try hangs is 504, and the try was told how long it had.
  const c = createServiceUpstream(service())
  let told: TryRequest | undefined
  await assert.rejects(
    c.call(async (t) => ((told = t), await new Promise((r) => setTimeout(r, 80)), Promise.reject(new Error('late'))), { replayable: true, timeouts: { request: 50, backendRequest: 200 } }),
    { code: 'upstream_timeout' },
  )
  assert.ok(told!.headersTimeout > 0 && told!.headersTimeout <= 50 && told!.requestTimeout <= 50)
  // A try that throws before returning a promise is a rejection like any other.
  await assert.rejects(c.call(() => { throw refused() }, { replayable: true }), { code: 'upstream_unavailable' })
  assert.ok(c.set.endpoints.every((e) => e.active === 0))
})
