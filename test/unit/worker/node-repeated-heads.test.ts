/**
 * The Node forward's cache of client response fields per distinct head
 * (worker/platforms/node/repeated-heads.ts), fed the way undici feeds it: Buffer views of one
 * socket read, name and value after name and value.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Buffer } from 'node:buffer'
import { RepeatedHeads } from '../../../worker/platforms/node/repeated-heads.ts'

/** A head's fields as undici hands them: views into one read (after a status line). */
function read(fields: Array<[string, string]>): Buffer[] {
  const text = `HTTP/1.1 200 OK\r\n${fields.map(([n, v]) => `${n}: ${v}\r\n`).join('')}\r\n`
  // A read of its own, as a socket's (not a slice of Node's shared small-Buffer pool).
  const bytes = Buffer.allocUnsafeSlow(text.length)
  bytes.write(text, 'latin1')
  const views: Buffer[] = []
  let at = text.indexOf('\r\n') + 2
  for (const [n, v] of fields) {
    views.push(bytes.subarray(at, at + n.length))
    at += n.length + 2
    views.push(bytes.subarray(at, at + v.length))
    at += v.length + 2
  }
  return views
}

function counting() {
  let converted = 0
  const heads = new RepeatedHeads((raw) => (converted++, raw.map((b) => b.toString('latin1'))))
  return { heads, converted: () => converted }
}

const NGINX: Array<[string, string]> = [['Server', 'nginx'], ['Date', 'Thu, 26 Nov 2026 20:00:00 GMT'], ['Content-Length', '100']]

test('the same fields in a later read are the kept strings: converted once', () => {
  const { heads, converted } = counting()
  const a = heads.fields(read(NGINX))
  const b = heads.fields(read(NGINX))
  assert.equal(b, a)
  assert.deepEqual(b, ['Server', 'nginx', 'Date', 'Thu, 26 Nov 2026 20:00:00 GMT', 'Content-Length', '100'])
  assert.equal(converted(), 1)
})

test('one byte different, or the same bytes split into other fields, is converted anew', () => {
  const { heads, converted } = counting()
  heads.fields(read(NGINX))
  const later = heads.fields(read([['Server', 'nginx'], ['Date', 'Thu, 26 Nov 2026 20:00:01 GMT'], ['Content-Length', '100']]))
  assert.equal(later[3], 'Thu, 26 Nov 2026 20:00:01 GMT')
  // The same bytes from the first name to the last value, but the value starts one byte
  // earlier (its leading space included): another head.
  const a = read([['X-A', 'one two']])
  heads.fields(a)
  const b = read([['X-A', 'one two']])
  b[1] = Buffer.from(b[1]!.buffer, b[1]!.byteOffset - 1, b[1]!.length + 1)
  assert.deepEqual(heads.fields(b), ['X-A', ' one two'])
  assert.equal(converted(), 4)
})

test('fields not all in one read (a head split across reads) are converted and not kept', () => {
  const { heads, converted } = counting()
  const split = read(NGINX)
  // What undici does with a value that arrived in two reads: a copy of its own.
  const copy = Buffer.allocUnsafeSlow(split[3]!.length)
  split[3]!.copy(copy)
  split[3] = copy
  heads.fields(split)
  heads.fields(split)
  assert.equal(converted(), 2)
})

test('the last eight distinct heads are kept, the oldest goes first', () => {
  const { heads, converted } = counting()
  const head = (i: number) => read([['X-N', String(i)]])
  for (let i = 0; i < 9; i++) heads.fields(head(i))
  assert.equal(converted(), 9)
  heads.fields(head(8))
  heads.fields(head(1))
  assert.equal(converted(), 9, 'heads 1-8 kept')
  heads.fields(head(0))
  assert.equal(converted(), 10, 'head 0 was dropped')
})
