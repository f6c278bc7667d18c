import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createEndpointSet } from '../../../../worker/upstream/endpoint-set.ts'
import { compileHashKey } from '../../../../worker/upstream/hash-key.ts'

const A = 'http://127.0.0.1:9001'
const B = 'http://127.0.0.1:9002'
const C = 'http://127.0.0.1:9003'

test('endpoint state survives a config update when the URL stays; new endpoints start fresh', () => {
  const v1 = createEndpointSet([{ url: A, weight: 1 }, { url: B, weight: 1 }])
  const [a, b] = v1.endpoints
  a!.active = 3
  a!.timesEjected = 2
  b!.healthy = false
  const v2 = createEndpointSet([{ url: B, weight: 5 }, { url: C, weight: 1 }], { previous: v1 })
  assert.equal(v2.endpoints[0], b, 'same object for B')
  assert.equal(v2.endpoints[0]!.weight, 5)
  assert.equal(v2.endpoints[0]!.healthy, false)
  assert.equal(v2.endpoints[1]!.active, 0)
  assert.equal(v2.endpoints.length, 2)
})

test('weight 0 endpoints are left out', () => {
  const s = createEndpointSet([{ url: A, weight: 0 }, { url: B, weight: 1 }])
  assert.deepEqual(s.endpoints.map((e) => e.url), [B])
})

test('candidates skip ejected and unhealthy endpoints, and an ejection ends on time', () => {
  let t = 1000
  const s = createEndpointSet([{ url: A, weight: 1 }, { url: B, weight: 1 }, { url: C, weight: 1 }], { now: () => t })
  const [a, b, c] = s.endpoints
  a!.ejectedUntil = 2000
  a!.consecutiveFailures = 5
  b!.healthy = false
  assert.deepEqual(s.candidates(), [c])
  assert.equal(s.panicking, false)
  t = 2000
  assert.deepEqual(s.candidates(), [a, c])
  assert.equal(a!.ejectedUntil, 0)
  assert.equal(a!.consecutiveFailures, 0)
})

test('exclude leaves out the failed endpoint unless it is the only one left', () => {
  const s = createEndpointSet([{ url: A, weight: 1 }, { url: B, weight: 1 }])
  const [a, b] = s.endpoints
  assert.deepEqual(s.candidates(a), [b])
  b!.healthy = false
  assert.deepEqual(s.candidates(a), [a])
})

test('panic mode: all out → all offered', () => {
  const s = createEndpointSet([{ url: A, weight: 1 }, { url: B, weight: 1 }], { now: () => 0 })
  for (const e of s.endpoints) e.healthy = false
  assert.equal(s.candidates().length, 2)
  assert.equal(s.panicking, true)
})

test('hash keys: client-ip, header and cookie', () => {
  const h = new Headers({ 'x-user': 'u1', cookie: 'a=1; session=abc ; b=2' })
  assert.equal(compileHashKey('client-ip')(h, '10.0.0.1'), '10.0.0.1')
  assert.equal(compileHashKey('client-ip')(h, ''), undefined)
  assert.equal(compileHashKey('header:X-User')(h, undefined), 'u1')
  assert.equal(compileHashKey('header:x-none')(h, undefined), undefined)
  assert.equal(compileHashKey('cookie:session')(h, undefined), 'abc')
  assert.equal(compileHashKey('cookie:zzz')(h, undefined), undefined)
})
