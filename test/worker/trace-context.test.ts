/** x-request-id and W3C traceparent handling, case by case. */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { requestId } from '../../worker/observe/request-id.ts'
import { childTrace } from '../../worker/observe/trace-context.ts'
import { hexLoop, randomHex } from '../../worker/observe/random-hex.ts'

test('a client request id is kept when it is one visible-ASCII token of at most 256 characters', () => {
  for (const id of ['abc-123', '550e8400-e29b-41d4-a716-446655440000', 'b64+/id==', 'x'.repeat(256)]) assert.equal(requestId(id), id)
  for (const bad of [null, undefined, '', 'has space', 'tab\tid', 'x'.repeat(257), 'é-accent']) {
    const id = requestId(bad)
    assert.match(id, /^[0-9a-f]{32}$/)
    assert.notEqual(id, bad)
  }
  assert.notEqual(requestId(null), requestId(null))
})

const PARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'

test('a valid traceparent yields a child span: same trace, new parent id, flags kept', () => {
  const t = childTrace(PARENT)
  assert.equal(t.traceId, '4bf92f3577b34da6a3ce929d0e0e4736')
  assert.match(t.traceparent, /^00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-01$/)
  assert.notEqual(t.spanId, '00f067aa0ba902b7')
  assert.equal(childTrace(PARENT.replace(/-01$/, '-00')).traceparent.slice(-2), '00', 'unsampled stays unsampled')
  // A future version may carry more fields: its ids are still used, spoken back as version 00.
  assert.equal(childTrace(`cc-${PARENT.slice(3)}-what-ever`).traceId, '4bf92f3577b34da6a3ce929d0e0e4736')
})

test('an invalid traceparent starts a new sampled trace', () => {
  const invalid = [
    'garbage',
    PARENT.toUpperCase(),
    `ff-${PARENT.slice(3)}`,
    '00-00000000000000000000000000000000-00f067aa0ba902b7-01',
    '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01',
    `${PARENT}-extra`,
    '00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01',
  ]
  for (const tp of invalid) {
    const t = childTrace(tp)
    assert.notEqual(t.traceId, '4bf92f3577b34da6a3ce929d0e0e4736', tp)
    assert.match(t.traceparent, /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/)
  }
})

test('random ids are hex of the asked length and do not repeat', () => {
  const seen = new Set<string>()
  for (let i = 0; i < 5000; i++) {
    const h = randomHex(8)
    assert.match(h, /^[0-9a-f]{16}$/)
    seen.add(h)
  }
  assert.equal(seen.size, 5000)
})

test('the portable hex encoding (runtimes without a native one) matches Buffer\'s', () => {
  const bytes = new Uint8Array(4096)
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 37) & 255
  const hex = hexLoop()
  assert.equal(hex(bytes), Buffer.from(bytes).toString('hex'))
  assert.equal(hex(bytes.subarray(0, 3)), Buffer.from(bytes.subarray(0, 3)).toString('hex'))
})
