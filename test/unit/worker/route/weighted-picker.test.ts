import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createWeightedPicker } from '../../../../worker/route/weighted-picker.ts'

function counts(pick: () => string | undefined, n: number): Map<string | undefined, number> {
  const out = new Map<string | undefined, number>()
  for (let i = 0; i < n; i++) {
    const name = pick()
    out.set(name, (out.get(name) ?? 0) + 1)
  }
  return out
}

test('a 90/10 split lands within a binomial bound (6 standard deviations) over 100,000 picks', () => {
  const n = 100_000
  const c = counts(createWeightedPicker([{ name: 'stable', weight: 90 }, { name: 'canary', weight: 10 }]), n)
  const canary = c.get('canary') ?? 0
  const sd = Math.sqrt(n * 0.1 * 0.9)
  assert.ok(Math.abs(canary - n * 0.1) < 6 * sd, `canary got ${canary} of ${n}`)
  assert.equal((c.get('stable') ?? 0) + canary, n)
})

test('a three-way split passes a chi-square test (df 2, p = 0.001 critical value 13.82)', () => {
  const weights = { a: 50, b: 30, c: 20 }
  const n = 60_000
  const c = counts(createWeightedPicker(Object.entries(weights).map(([name, weight]) => ({ name, weight }))), n)
  let chi = 0
  for (const [name, weight] of Object.entries(weights)) {
    const expected = (n * weight) / 100
    chi += ((c.get(name) ?? 0) - expected) ** 2 / expected
  }
  assert.ok(chi < 13.82, `chi-square ${chi.toFixed(2)}: ${JSON.stringify([...c])}`)
})

test('picks spread through the cycle: a 90/10 split never sends two canary picks within ten', () => {
  const pick = createWeightedPicker([{ name: 'stable', weight: 9 }, { name: 'canary', weight: 1 }])
  let last = -100
  for (let i = 0; i < 1000; i++) {
    if (pick() === 'canary') {
      assert.ok(i - last >= 10, `canary at ${last} and ${i}`)
      last = i
    }
  }
})

test('weight 0 backends are never picked; no live backend picks undefined', () => {
  const c = counts(createWeightedPicker([{ name: 'off', weight: 0 }, { name: 'on', weight: 3 }]), 100)
  assert.deepEqual([...c], [['on', 100]])
  assert.equal(createWeightedPicker([{ name: 'off', weight: 0 }])(), undefined)
  assert.equal(createWeightedPicker([])(), undefined)
})
