import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createFault } from '../../../../worker/filters/fault.ts'

/** Draws from a fixed list, so each request's fate is known. */
const draws = (...values: number[]) => () => values.shift() ?? 0.99

test('abort answers the configured status without delay when the delay draw misses', async () => {
  const slept: number[] = []
  const fault = createFault({ delay: { percent: 10, fixedDelay: 100 }, abort: { percent: 20, status: 503 } }, { random: draws(0.5, 0.1), sleep: async (ms) => void slept.push(ms) })
  const res = await fault()
  assert.equal(res?.status, 503)
  assert.equal(res?.headers.get('x-legate-fault'), 'abort')
  assert.deepEqual(slept, [])
})

test('delay then pass through; percent 0 never fires, 100 always', async () => {
  const slept: number[] = []
  const sleep = async (ms: number) => void slept.push(ms)
  const delayOnly = createFault({ delay: { percent: 10, fixedDelay: 100 }, abort: { percent: 20, status: 503 } }, { random: draws(0.05, 0.5), sleep })
  assert.equal(await delayOnly(), undefined)
  assert.deepEqual(slept, [100])
  const never = createFault({ abort: { percent: 0, status: 500 } }, { random: () => 0 })
  assert.equal(await never(), undefined)
  const always = createFault({ abort: { percent: 100, status: 500 } }, { random: () => 0.999999 })
  assert.equal((await always())?.status, 500)
})

test('abort share within 5 standard deviations over 10 000 draws', async () => {
  const fault = createFault({ abort: { percent: 5, status: 500 } })
  let n = 0
  for (let i = 0; i < 10_000; i++) if (await fault()) n++
  const sd = Math.sqrt(10_000 * 0.05 * 0.95)
  assert.ok(Math.abs(n - 500) <= 5 * sd, `${n} aborts`)
})
