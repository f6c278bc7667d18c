import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createTokenBucketTable } from '../../../../worker/policy/token-bucket.ts'

test('a bucket admits its burst at once, then refills at requests/per', () => {
  const t = createTokenBucketTable({ requests: 10, perMs: 1000, burst: 5 })
  const admitted = Array.from({ length: 8 }, () => t.take('a', 0).allowed).filter(Boolean).length
  assert.equal(admitted, 5)
  const denied = t.take('a', 0)
  assert.equal(denied.allowed, false)
  assert.equal(denied.retryAfterMs, 100) // one token per 100 ms
  assert.equal(t.take('a', 99).allowed, false)
  assert.equal(t.take('a', 200).allowed, true)
  // never above capacity after a long pause
  let n = 0
  while (t.take('a', 1_000_000).allowed && n < 100) n++
  assert.equal(n, 5)
})

test('burst defaults to requests; keys are independent; remaining and reset are reported', () => {
  const t = createTokenBucketTable({ requests: 3, perMs: 1000 })
  assert.deepEqual(t.take('x', 0), { allowed: true, remaining: 2, retryAfterMs: 0, resetMs: 334 })
  t.take('x', 0)
  t.take('x', 0)
  assert.equal(t.take('x', 0).allowed, false)
  assert.equal(t.take('y', 0).allowed, true)
})

test('over a simulated 10 s at 3× the rate, admitted = burst + rate·T exactly', () => {
  const t = createTokenBucketTable({ requests: 100, perMs: 1000, burst: 100 })
  let admitted = 0
  for (let ms = 0; ms < 10_000; ms += 1000 / 300) if (t.take('k', ms).allowed) admitted++
  assert.ok(Math.abs(admitted - 1100) <= 2, `admitted ${admitted}`)
})

test('the table never holds more than maxKeys; the least recently used key is evicted', () => {
  const t = createTokenBucketTable({ requests: 1, perMs: 60_000 }, 3)
  t.take('a', 0)
  t.take('b', 0)
  t.take('c', 0)
  assert.equal(t.take('a', 1).allowed, false) // a is now the most recent
  t.take('d', 2) // evicts b, the least recently used
  assert.equal(t.size, 3)
  assert.equal(t.take('a', 3).allowed, false) // a kept its empty bucket
  assert.equal(t.take('b', 4).allowed, true) // b was forgotten: a fresh bucket
  for (let i = 0; i < 10_000; i++) t.take(`k${i}`, 5)
  assert.equal(t.size, 3)
})
