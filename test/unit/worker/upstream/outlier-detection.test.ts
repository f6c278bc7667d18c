import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createEndpointSet } from '../../../../worker/upstream/endpoint-set.ts'
import { createOutlierDetector } from '../../../../worker/upstream/outlier-detection.ts'

const config = { consecutive5xx: 3, interval: 10_000, baseEjectionTime: 30_000, maxEjectionPercent: 50 }
const setOf = (n: number, now: () => number) => createEndpointSet(Array.from({ length: n }, (_, i) => ({ url: `http://h${i}:80`, weight: 1 })), { now })

test('ejects after consecutive5xx failures in a row; a success in between resets the count', () => {
  let t = 0
  const s = setOf(4, () => t)
  const [a] = s.endpoints
  const ejections: number[] = []
  const d = createOutlierDetector(config, s.endpoints, { now: () => t, onEject: (_e, ms) => ejections.push(ms) })
  assert.equal(d.failure(a!), false)
  assert.equal(d.failure(a!), false)
  d.success(a!)
  assert.equal(d.failure(a!), false)
  assert.equal(d.failure(a!), false)
  assert.equal(d.failure(a!), true)
  assert.equal(a!.ejectedUntil, 30_000)
  assert.deepEqual(ejections, [30_000])
  assert.ok(!s.candidates().includes(a!))
})

test('ejection time grows with times ejected and the multiplier decays while the endpoint behaves', () => {
  let t = 0
  const s = setOf(4, () => t)
  const [a] = s.endpoints
  const d = createOutlierDetector(config, s.endpoints, { now: () => t })
  const eject = () => {
    for (let i = 0; i < 3; i++) d.failure(a!)
  }
  eject()
  assert.equal(a!.ejectedUntil - t, 30_000)
  t = 30_000
  assert.ok(s.candidates().includes(a!), 'back after baseEjectionTime')
  eject()
  assert.equal(a!.ejectedUntil - t, 60_000, 'second ejection: 2 × base')
  t = 90_000 + 5 * config.interval
  s.candidates()
  eject()
  // 5 calm intervals since the last ejection ended bring the multiplier from 2 to 0, then +1.
  assert.equal(a!.ejectedUntil - t, 30_000)
})

test('maxEjectionPercent bounds how many are out at once (at least one)', () => {
  const t = 0
  const s = setOf(3, () => t)
  const d = createOutlierDetector(config, s.endpoints, { now: () => t })
  const ejected = s.endpoints.map((e) => [0, 1, 2].some(() => d.failure(e)))
  assert.deepEqual(ejected, [true, false, false], '50% of 3 → 1')
  const none = createOutlierDetector({ ...config, maxEjectionPercent: 0 }, setOf(3, () => t).endpoints, { now: () => t })
  const e = setOf(3, () => t).endpoints[0]!
  for (let i = 0; i < 10; i++) assert.equal(none.failure(e), false)
})
