import { test } from 'node:test'
import assert from 'node:assert/strict'
import { backoffDelay, classifyError, isEndpointFailure, isRetryable } from '../../../../worker/upstream/retry.ts'
import { prepareBody, MAX_REPLAY_BYTES } from '../../../../worker/upstream/replayable-body.ts'
import { LegateError } from '../../../../protocol/errors.ts'

const policy = { attempts: 2, codes: new Set([503]), backoff: 25 }

test('retryable: listed codes, connect failures, resets and per-try timeouts; never an abort', () => {
  assert.equal(isRetryable({ kind: 'response', status: 503 }, policy), true)
  assert.equal(isRetryable({ kind: 'response', status: 500 }, policy), false)
  assert.equal(isRetryable({ kind: 'connect' }, policy), true)
  assert.equal(isRetryable({ kind: 'reset' }, policy), true)
  assert.equal(isRetryable({ kind: 'timeout' }, policy), true)
  assert.equal(isRetryable({ kind: 'aborted' }, policy), false)
  assert.equal(isEndpointFailure({ kind: 'response', status: 500 }), true)
  assert.equal(isEndpointFailure({ kind: 'response', status: 404 }), false)
})

test('backoff: full jitter under base × 2^n, capped at 10 × base', () => {
  assert.equal(backoffDelay(0, 25, () => 0), 0)
  assert.equal(backoffDelay(0, 25, () => 0.999), 24)
  assert.equal(backoffDelay(2, 25, () => 0.5), 50)
  assert.equal(backoffDelay(10, 25, () => 0.999), 249)
  for (let i = 0; i < 100; i++) assert.ok(backoffDelay(1, 25) < 50)
})

test('classifyError reads the socket error under cause', () => {
  const refused = new LegateError('upstream_unavailable', 'x', { cause: Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } }) })
  const reset = new TypeError('fetch failed', { cause: { code: 'ECONNRESET' } })
  const flags = { tryTimedOut: false, stopped: false }
  assert.deepEqual(classifyError(refused, flags), { kind: 'connect' })
  assert.deepEqual(classifyError(reset, flags), { kind: 'reset' })
  assert.deepEqual(classifyError(reset, { tryTimedOut: true, stopped: false }), { kind: 'timeout' })
  assert.deepEqual(classifyError(reset, { tryTimedOut: true, stopped: true }), { kind: 'aborted' })
})

const post = (body: BodyInit, headers: Record<string, string> = {}) =>
  new Request('http://x/', { method: 'POST', body, headers, duplex: 'half' } as RequestInit)

test('prepareBody buffers up to 64 KiB and streams a larger body once, bytes intact', async () => {
  assert.deepEqual(await prepareBody(new Request('http://x/')), { replayable: true, bytes: null })
  const small = await prepareBody(post('hello'))
  assert.ok(small.replayable)
  assert.equal(new TextDecoder().decode(small.bytes!), 'hello')

  const big = new Uint8Array(MAX_REPLAY_BYTES + 10).map((_, i) => i & 255)
  const chunks = new ReadableStream<Uint8Array>({
    start(c) {
      for (let i = 0; i < big.length; i += 1000) c.enqueue(big.slice(i, i + 1000))
      c.close()
    },
  })
  const large = await prepareBody(post(chunks))
  assert.equal(large.replayable, false)
  const back = new Uint8Array(await new Response(large.replayable ? null : large.stream).arrayBuffer())
  assert.deepEqual(back, big)

  const declared = await prepareBody(post('x', { 'content-length': String(MAX_REPLAY_BYTES + 1) }))
  assert.equal(declared.replayable, false)
})
