import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createBalancer, type LoadBalancingPolicy } from '../../../../worker/upstream/balancer.ts'
import { createEndpointSet, type Endpoint } from '../../../../worker/upstream/endpoint-set.ts'

/** mulberry32: a seeded uniform PRNG, so a statistical test gives the same draws every run. */
function seeded(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const endpoints = (...weights: number[]) => createEndpointSet(weights.map((weight, i) => ({ url: `http://10.0.0.${i + 1}:80`, weight }))).endpoints

function counts(policy: LoadBalancingPolicy, eps: readonly Endpoint[], n: number, key?: (i: number) => string) {
  const b = createBalancer(policy, eps, { random: seeded(42) })
  const c = new Map<string, number>()
  for (let i = 0; i < n; i++) {
    const e = b.pick(eps, key?.(i))
    c.set(e.url, (c.get(e.url) ?? 0) + 1)
  }
  return eps.map((e) => c.get(e.url) ?? 0)
}

/** Each count within 5 standard deviations of n × weight share (binomial). */
function withinBounds(observed: number[], weights: number[], n: number) {
  const total = weights.reduce((a, b) => a + b, 0)
  observed.forEach((o, i) => {
    const p = weights[i]! / total
    const sd = Math.sqrt(n * p * (1 - p))
    assert.ok(Math.abs(o - n * p) <= 5 * sd, `endpoint ${i}: ${o} picks, expected ${Math.round(n * p)} ± ${Math.round(5 * sd)}`)
  })
}

test('round-robin is smooth: weights 5:1:1 interleave as nginx does', () => {
  const eps = endpoints(5, 1, 1)
  const b = createBalancer('round-robin', eps)
  const seq = Array.from({ length: 7 }, () => eps.indexOf(b.pick(eps)))
  assert.deepEqual(seq, [0, 0, 1, 0, 2, 0, 0])
  assert.deepEqual(counts('round-robin', eps, 7000), [5000, 1000, 1000])
})

test('round-robin skips a candidate left out and keeps the ratio among the rest', () => {
  const eps = endpoints(2, 1, 1)
  const b = createBalancer('round-robin', eps)
  const some = [eps[0]!, eps[2]!]
  const c = [0, 0, 0]
  for (let i = 0; i < 300; i++) c[eps.indexOf(b.pick(some))]!++
  assert.deepEqual(c, [200, 0, 100])
})

test('random follows the weights within statistical bounds', () => {
  const n = 20_000
  withinBounds(counts('random', endpoints(1, 2, 7), n), [1, 2, 7], n)
})

test('least-request with no load follows the weights; under load it avoids the busy endpoint', () => {
  const n = 20_000
  withinBounds(counts('least-request', endpoints(1, 1, 2), n), [1, 1, 2], n)
  const eps = endpoints(1, 1, 1)
  eps[0]!.active = 10
  const c = counts('least-request', eps, 3000)
  // Endpoint 0 only wins when both draws are it (redrawn up to three times): almost never.
  assert.ok(c[0]! < 30, `busy endpoint got ${c[0]} of 3000`)
})

test('ring-hash: the same key always lands on the same endpoint, keys spread by weight', () => {
  const eps = endpoints(1, 1, 1, 1)
  const b = createBalancer('ring-hash', eps)
  for (let i = 0; i < 100; i++) assert.equal(b.pick(eps, `user-${i}`), b.pick(eps, `user-${i}`))
  const n = 20_000
  const c = counts('ring-hash', eps, n, (i) => `10.1.${i >> 8}.${i & 255}`)
  // Ring placement adds its own error (~3 % per endpoint): allow 10 % of the expected share.
  for (const x of c) assert.ok(Math.abs(x - n / 4) < n / 40, `counts ${c.join(',')}`)
})

test('ring-hash keeps ≥ 90% of keys when one of ten endpoints is added, and moves none between old ones', () => {
  const ten = endpoints(...Array(10).fill(1))
  const eleven = createEndpointSet([...ten.map((e) => ({ url: e.url, weight: 1 })), { url: 'http://10.0.0.99:80', weight: 1 }], {
    previous: { endpoints: ten, candidates: () => ten, panicking: false },
  }).endpoints
  const before = createBalancer('ring-hash', ten)
  const after = createBalancer('ring-hash', eleven)
  const n = 50_000
  let stayed = 0
  for (let i = 0; i < n; i++) {
    const key = `session-${i}`
    const a = before.pick(ten, key)
    const b = after.pick(eleven, key)
    if (a === b) stayed++
    else assert.equal(b.url, 'http://10.0.0.99:80', 'a key moved between two old endpoints')
  }
  assert.ok(stayed / n >= 0.9, `only ${((100 * stayed) / n).toFixed(1)}% of keys stayed`)
})

test('ring-hash walks past an excluded endpoint and comes back when it returns', () => {
  const eps = endpoints(1, 1, 1)
  const b = createBalancer('ring-hash', eps)
  const home = b.pick(eps, 'k')
  const others = eps.filter((e) => e !== home)
  const away = b.pick(others, 'k')
  assert.notEqual(away, home)
  assert.equal(b.pick(others, 'k'), away)
  assert.equal(b.pick(eps, 'k'), home)
})

test('ring-hash without a key spreads at random', () => {
  const n = 9000
  withinBounds(counts('ring-hash', endpoints(1, 1, 1), n), [1, 1, 1], n)
})
