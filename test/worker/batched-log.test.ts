/** The batched log writer: lines joined with a newline after each, written at the size limit or on flush. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createBatchedLog } from '../../worker/observe/batched-log.ts'

test('a batch is its lines, each ending in a newline, written once', () => {
  const out: string[] = []
  const log = createBatchedLog((t) => out.push(t), { flushMs: 60_000, maxBatchBytes: 12 })
  log.write('one')
  log.write('two')
  assert.deepEqual(out, [])
  log.write('three') // 4 + 4 + 6 bytes: over 12, written now
  assert.deepEqual(out, ['one\ntwo\nthree\n'])
  log.write('four')
  log.flush()
  log.flush()
  assert.deepEqual(out, ['one\ntwo\nthree\n', 'four\n'])
})

test('past maxPending lines are dropped and the batch says how many', () => {
  const out: string[] = []
  const log = createBatchedLog((t) => out.push(t), { flushMs: 60_000, maxPending: 2 })
  for (const l of ['a', 'b', 'c', 'd']) log.write(l)
  log.flush()
  const [a, b, warn, end] = out[0]!.split('\n')
  assert.deepEqual([a, b, end], ['a', 'b', ''])
  assert.equal(JSON.parse(warn!).dropped, 2)
})
