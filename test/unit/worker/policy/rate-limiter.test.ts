import { test } from 'node:test'
import assert from 'node:assert/strict'
import { parseMeshConfig } from '../../../../protocol/index.ts'
import { compileRateLimits, type RateLimitRequest } from '../../../../worker/policy/rate-limiter.ts'
import type { GlobalLimiter } from '../../../../worker/policy/global-limiter.ts'
import { createTokenBucketTable } from '../../../../worker/policy/token-bucket.ts'

const policies = (rateLimits: unknown[]) =>
  parseMeshConfig({
    mesh: 'demo',
    services: [{ name: 'echo', endpoints: ['http://127.0.0.1:1'] }, { name: 'other', endpoints: ['http://127.0.0.1:2'] }],
    policies: { rateLimits },
  }).policies.rateLimits

const req = (over: Partial<RateLimitRequest> = {}): RateLimitRequest => ({ host: 'echo', path: '/api/x', method: 'GET', headers: new Headers(), query: '', source: undefined, ip: '10.0.0.1', ...over })

async function admitted(limiter: ReturnType<typeof compileRateLimits>, n: number, r: () => RateLimitRequest, service = 'echo') {
  let ok = 0
  for (let i = 0; i < n; i++) if ((await limiter.check(service, r())).allowed) ok++
  return ok
}

test('per client-ip: each address has its own bucket; 429 headers follow the IETF draft', async () => {
  const now = 0
  const l = compileRateLimits(policies([{ name: 'per-client', key: 'client-ip', limit: { requests: 5, per: '1s' } }]), { now: () => now })
  assert.equal(await admitted(l, 10, () => req()), 5)
  assert.equal(await admitted(l, 10, () => req({ ip: '10.0.0.2' })), 5)
  const v = await l.check('echo', req())
  assert.equal(v.allowed, false)
  assert.equal(v.policy, 'per-client')
  assert.deepEqual(v.headers, { 'retry-after': '1', 'ratelimit-policy': '"per-client";q=5;w=1', ratelimit: '"per-client";r=0;t=1' })
})

test('targets and match select what a policy limits', async () => {
  const l = compileRateLimits(
    policies([{ name: 'api-only', targets: ['echo'], match: { path: { type: 'PathPrefix', value: '/api' }, method: 'POST' }, key: 'global', limit: { requests: 2, per: '1m' } }]),
    { now: () => 0 },
  )
  assert.equal(await admitted(l, 5, () => req({ method: 'POST' })), 2)
  assert.equal(await admitted(l, 5, () => req({ method: 'GET' })), 5) // method does not match
  assert.equal(await admitted(l, 5, () => req({ method: 'POST', path: '/apix' })), 5) // not on a segment boundary
  assert.equal(await admitted(l, 5, () => req({ method: 'POST' }), 'other'), 5) // another service
})

test('source-service and header keys; a missing header means the policy does not apply', async () => {
  const l = compileRateLimits(
    policies([
      { name: 'by-source', key: 'source-service', limit: { requests: 1, per: '1m' } },
      { name: 'by-tenant', key: 'header:X-Tenant', limit: { requests: 2, per: '1m' } },
    ]),
    { now: () => 0 },
  )
  assert.equal(await admitted(l, 3, () => req({ source: 'frontend' })), 1)
  assert.equal(await admitted(l, 3, () => req({ source: 'cart' })), 1)
  assert.equal(await admitted(l, 3, () => req({ source: undefined })), 1) // unauthenticated callers share one bucket
  const tenant = (t: string) => () => req({ source: `s-${t}-${Math.random()}`, headers: new Headers({ 'x-tenant': t }) })
  assert.equal(await admitted(l, 5, tenant('a')), 2)
  const v = await l.check('echo', tenant('a')())
  assert.equal(v.policy, 'by-tenant')
})

test('burst and sub-second windows: w rounds up to whole seconds', async () => {
  const l = compileRateLimits(policies([{ name: 'fast', key: 'global', limit: { requests: 10, per: '500ms', burst: 3 } }]), { now: () => 0 })
  assert.equal(await admitted(l, 10, () => req()), 3)
  assert.equal((await l.check('echo', req())).headers['ratelimit-policy'], '"fast";q=10;w=1')
})

test('buckets survive a config update when the policy did not change, and reset when it did', async () => {
  const p1 = policies([{ name: 'a', key: 'global', limit: { requests: 2, per: '1m' } }, { name: 'b', key: 'global', limit: { requests: 2, per: '1m' } }])
  const v1 = compileRateLimits(p1, { now: () => 0 })
  await admitted(v1, 2, () => req())
  const p2 = policies([{ name: 'a', key: 'global', limit: { requests: 2, per: '1m' } }, { name: 'b', key: 'global', limit: { requests: 3, per: '1m' } }])
  const v2 = compileRateLimits(p2, { now: () => 0, previous: v1 })
  const v = await v2.check('echo', req())
  assert.equal(v.allowed, false)
  assert.equal(v.policy, 'a') // a kept its empty bucket
  const onlyB = compileRateLimits(policies([p2[1]!].map((p) => ({ name: p.name, key: p.key, limit: { requests: 3, per: '1m' } }))), { now: () => 0, previous: v2 })
  assert.equal(await admitted(onlyB, 5, () => req()), 3) // b changed: a fresh bucket of 3
})

test('key memory is bounded per policy', async () => {
  const l = compileRateLimits(policies([{ name: 'per-client', key: 'client-ip', limit: { requests: 1, per: '1m' } }]), { maxKeys: 1000, now: () => 0 })
  for (let i = 0; i < 5000; i++) await l.check('echo', req({ ip: `10.1.${i >> 8}.${i & 255}` }))
  assert.equal(l.keys('per-client'), 1000)
})

/** A store that takes its time: the timeout must answer first. */
const slowStore: GlobalLimiter = { name: 'slow', take: () => new Promise((resolve) => setTimeout(() => resolve({ allowed: true, remaining: 0, retryAfterMs: 0, resetMs: 0 }), 2000).unref()) }
/** A store that refuses to connect. */
const downStore: GlobalLimiter = { name: 'down', take: async () => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:1')) }

test('global policy with a failing store: open admits, closed refuses, both are counted', async () => {
  const errors: string[] = []
  const mk = (mode: string, store: GlobalLimiter) =>
    compileRateLimits(policies([{ name: `g-${mode}`, key: 'global', scope: 'global', failureMode: mode, limit: { requests: 1, per: '1m' } }]), {
      global: store,
      globalTimeoutMs: 30,
      onStoreError: (p, m) => errors.push(`${p}:${m}`),
    })
  const open = await mk('open', downStore).check('echo', req())
  assert.equal(open.allowed, true)
  assert.equal(open.storeFailure?.mode, 'open')
  const t0 = performance.now()
  const closed = await mk('closed', slowStore).check('echo', req())
  assert.ok(performance.now() - t0 < 500, 'the timeout answered, not the slow store')
  assert.equal(closed.allowed, false)
  assert.equal(closed.headers['retry-after'], '1')
  assert.deepEqual(errors, ['g-open:open', 'g-closed:closed'])
})

test('a global policy uses the store (here: a token bucket table behind the interface)', async () => {
  const table = createTokenBucketTable({ requests: 3, perMs: 60_000 })
  const keys: string[] = []
  const store: GlobalLimiter = { name: 'table', take: async (key) => (keys.push(key), table.take(key, 0)) }
  const l = compileRateLimits(policies([{ name: 'shared', key: 'client-ip', scope: 'global', limit: { requests: 3, per: '1m' } }]), { global: store })
  assert.equal(await admitted(l, 5, () => req()), 3)
  assert.equal(keys[0], 'shared:10.0.0.1')
  assert.equal(l.keys('shared'), 0) // nothing kept locally
})
