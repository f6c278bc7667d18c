import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createCircuitBreaker, type BreakerLimit } from '../../../../worker/upstream/circuit-breaker.ts'

test('requests over maxRequests are refused at once and admitted again after a release', () => {
  const rejected: BreakerLimit[] = []
  const b = createCircuitBreaker({ maxRequests: 2, maxConnections: 10, maxPendingRequests: 0, maxRetries: 1 }, { onReject: (l) => rejected.push(l) })
  assert.equal(b.admitRequest(), true)
  assert.equal(b.admitRequest(), true)
  assert.equal(b.admitRequest(), false)
  b.releaseRequest()
  assert.equal(b.admitRequest(), true)
  assert.equal(b.admitRetry(), true)
  assert.equal(b.admitRetry(), false)
  b.releaseRetry()
  assert.equal(b.admitRetry(), true)
  assert.deepEqual(rejected, ['requests', 'retries'])
})

test('connections: over the limit an attempt waits in the pending queue, FIFO; a full queue refuses', async () => {
  const b = createCircuitBreaker({ maxRequests: 100, maxConnections: 1, maxPendingRequests: 2, maxRetries: 3 })
  assert.equal(b.acquireConnection(), true)
  const order: number[] = []
  const first = (b.acquireConnection() as Promise<boolean>).then((ok) => ok && order.push(1))
  const second = (b.acquireConnection() as Promise<boolean>).then((ok) => ok && order.push(2))
  assert.equal(b.acquireConnection(), false, 'queue of 2 is full')
  assert.deepEqual(b.stats, { requests: 0, connections: 1, pending: 2, retries: 0 })
  b.releaseConnection()
  await first
  b.releaseConnection()
  await second
  assert.deepEqual(order, [1, 2])
  b.releaseConnection()
  assert.deepEqual(b.stats, { requests: 0, connections: 0, pending: 0, retries: 0 })
})

test('a pending attempt whose request aborts leaves the queue', async () => {
  const b = createCircuitBreaker({ maxRequests: 100, maxConnections: 1, maxPendingRequests: 5, maxRetries: 3 })
  b.acquireConnection()
  const abort = new AbortController()
  const waiting = b.acquireConnection(abort.signal) as Promise<boolean>
  abort.abort()
  assert.equal(await waiting, false)
  assert.equal(b.stats.pending, 0)
  b.releaseConnection()
  assert.equal(b.stats.connections, 0)
})
