/**
 * Acceptance 1 of issue 6, through a running ambassador: each load-balancing policy's
 * distribution within statistical bounds (binomial, 5 standard deviations), least-request
 * steering away from a slow endpoint, and ring-hash stickiness per key.
 */
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { load, startFlaky, startMesh, withinSd, type FlakyUpstream } from './helpers.ts'
import type { RunningAmbassador } from '../../worker/entry/node.ts'
import { rawRequest } from '../worker/helpers.ts'

let ups: FlakyUpstream[]
let lr: FlakyUpstream[]
let amb: RunningAmbassador
const WEIGHTS = [1, 2, 3]

before(async () => {
  ups = await Promise.all(['a', 'b', 'c'].map((n) => startFlaky(n)))
  lr = await Promise.all(['slow', 'fast1', 'fast2'].map((n) => startFlaky(n)))
  lr[0]!.mode = { slow: 60 }
  const weighted = ups.map((u, i) => ({ url: u.url, weight: WEIGHTS[i]! }))
  amb = await startMesh({
    services: [
      { name: 'rr', endpoints: weighted, loadBalancing: 'round-robin' },
      { name: 'random', endpoints: weighted, loadBalancing: 'random' },
      { name: 'ring', endpoints: ups.map((u) => u.url), loadBalancing: 'ring-hash', hashKey: 'header:x-user' },
      { name: 'least', endpoints: lr.map((u) => u.url), loadBalancing: 'least-request' },
    ],
  })
})

after(async () => {
  await amb?.close()
  await Promise.all([...ups, ...lr].map((u) => u.close()))
})

const shares = (r: { byUpstream: Map<string, number> }, names: string[]) => names.map((n) => r.byUpstream.get(n) ?? 0)

test('round-robin: weights 1:2:3 give exactly 1/6, 2/6, 3/6 of the requests', async () => {
  const r = await load({ port: amb.ports.outbound, host: 'rr', rps: 600, durationMs: 1000 })
  assert.deepEqual(r.failures, [])
  const got = shares(r, ['a', 'b', 'c'])
  // Smooth WRR is deterministic: off by at most one cycle's worth.
  got.forEach((n, i) => assert.ok(Math.abs(n - (r.sent * WEIGHTS[i]!) / 6) <= 6, `rr ${got.join('/')} of ${r.sent}`))
})

test('random: weights 1:2:3 within 5 standard deviations', async () => {
  const r = await load({ port: amb.ports.outbound, host: 'random', rps: 600, durationMs: 1500 })
  assert.deepEqual(r.failures, [])
  const got = shares(r, ['a', 'b', 'c'])
  got.forEach((n, i) => {
    const b = withinSd(n, r.sent, WEIGHTS[i]! / 6)
    assert.ok(b.ok, `random: ${n} to ${['a', 'b', 'c'][i]}, expected ${b.expected.toFixed(0)} ± ${(5 * b.sd).toFixed(0)}`)
  })
})

test('ring-hash on header:x-user: each user sticks to one endpoint, users spread evenly', async () => {
  const users = 300
  const seen = new Map<string, Set<string>>()
  const r = await load({
    port: amb.ports.outbound,
    host: 'ring',
    rps: 600,
    durationMs: 1500,
    headers: (i) => ({ 'x-user': `user-${i % users}` }),
  })
  assert.deepEqual(r.failures, [])
  // Stickiness: ask each user again, one request each, and compare with a second round.
  const first = await Promise.all(Array.from({ length: users }, (_, i) => ask(`user-${i}`)))
  const second = await Promise.all(Array.from({ length: users }, (_, i) => ask(`user-${i}`)))
  first.forEach((u, i) => seen.set(`user-${i}`, new Set([u, second[i]!])))
  for (const [user, endpoints] of seen) assert.equal(endpoints.size, 1, `${user} moved between ${[...endpoints]}`)
  const perEndpoint = ['a', 'b', 'c'].map((n) => first.filter((x) => x === n).length)
  // Key placement on the ring: each endpoint's share of 300 users within 5 sd of 1/3 (plus ring error).
  perEndpoint.forEach((n) => assert.ok(withinSd(n, users, 1 / 3, 6).ok, `users per endpoint ${perEndpoint.join('/')}`))
})

async function ask(user: string): Promise<string> {
  const res = await rawRequest(amb.ports.outbound, { path: '/', headers: { host: 'ring', 'x-user': user } })
  return String(res.headers['x-upstream'] ?? '')
}

test('least-request: a slow endpoint gets far less than its third', async () => {
  const r = await load({ port: amb.ports.outbound, host: 'least', rps: 400, durationMs: 1500 })
  assert.deepEqual(r.failures, [])
  const [slow, f1, f2] = shares(r, ['slow', 'fast1', 'fast2'])
  assert.ok(slow! < r.sent / 6, `slow endpoint got ${slow} of ${r.sent} (fast: ${f1}, ${f2})`)
  console.log(`# least-request: slow (60 ms) endpoint got ${slow} of ${r.sent} requests, the fast ones ${f1} and ${f2}`)
})
