/** The Node platform's batched log: lines encoded into the batch as written, same batching as observe/batched-log.ts. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createByteLog } from '../../../worker/platforms/node/byte-log.ts'

const text = (out: Uint8Array[]) => out.map((b) => Buffer.from(b).toString('utf8'))

test('a batch is its lines, each ending in a newline, written once at the size limit or on flush', () => {
  const out: Uint8Array[] = []
  const log = createByteLog((b) => out.push(b), { flushMs: 60_000, maxBatchBytes: 12 })
  log.write('one')
  log.write('two')
  assert.equal(out.length, 0)
  log.write('three') // 4 + 4 + 6 bytes: over 12, written now
  log.write('four')
  log.flush()
  log.flush()
  assert.deepEqual(text(out), ['one\ntwo\nthree\n', 'four\n'])
})

test('multi-byte characters and lines longer than a batch arrive whole and in order', () => {
  const out: Uint8Array[] = []
  const log = createByteLog((b) => out.push(b), { flushMs: 60_000, maxBatchBytes: 64 })
  const long = 'é😀'.repeat(20_000)
  const lines = ['añb', 'x'.repeat(100), long, 'end']
  for (const l of lines) log.write(l)
  log.flush()
  assert.equal(text(out).join(''), lines.map((l) => `${l}\n`).join(''))
})

test('a batch that fills its buffer flushes before the next line, and a later batch does not overwrite the bytes handed on', () => {
  const out: Uint8Array[] = []
  const log = createByteLog((b) => out.push(b), { flushMs: 60_000, maxBatchBytes: 1000 })
  const lines = Array.from({ length: 200 }, (_, i) => `line ${i} ${'z'.repeat(i % 50)}`)
  for (const l of lines) log.write(l)
  log.flush()
  assert.ok(out.length > 1)
  assert.equal(text(out).join(''), lines.map((l) => `${l}\n`).join(''))
})

test('past maxPending lines are dropped and the batch says how many', () => {
  const out: Uint8Array[] = []
  const log = createByteLog((b) => out.push(b), { flushMs: 60_000, maxPending: 2 })
  for (const l of ['a', 'b', 'c', 'd']) log.write(l)
  log.flush()
  const [a, b, warn, end] = text(out).join('').split('\n')
  assert.deepEqual([a, b, end], ['a', 'b', ''])
  assert.equal(JSON.parse(warn!).dropped, 2)
})

test('a pending batch is written after flushMs', async () => {
  const out: Uint8Array[] = []
  const log = createByteLog((b) => out.push(b), { flushMs: 5 })
  log.write('later')
  assert.equal(out.length, 0)
  await new Promise((r) => setTimeout(r, 30))
  assert.deepEqual(text(out), ['later\n'])
})
