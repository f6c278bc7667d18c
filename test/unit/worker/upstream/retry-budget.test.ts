import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createRetryBudget } from '../../../../worker/upstream/retry-budget.ts'

test('retries are capped at 20% of requests plus 10/s over the 10 s window', () => {
  let t = 0
  let exhausted = 0
  const b = createRetryBudget({ ratio: 0.2, minPerSecond: 10, windowMs: 10_000 }, { now: () => t, onExhausted: () => exhausted++ })
  for (let i = 0; i < 1000; i++) b.request()
  let granted = 0
  for (let i = 0; i < 1000; i++) if (b.tryRetry()) granted++
  assert.equal(granted, 200 + 100)
  assert.equal(exhausted, 700)
})

test('the window slides: old requests and retries stop counting', () => {
  let t = 0
  const b = createRetryBudget({ ratio: 0.2, minPerSecond: 1, windowMs: 10_000 }, { now: () => t })
  for (let i = 0; i < 50; i++) b.request()
  let granted = 0
  while (b.tryRetry()) granted++
  assert.equal(granted, 10 + 10)
  t = 10_500 // everything above is out of the window
  assert.equal(b.tryRetry(), true)
  granted = 1
  while (b.tryRetry()) granted++
  assert.equal(granted, 10, 'only the floor is left')
})
