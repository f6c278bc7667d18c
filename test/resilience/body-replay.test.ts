/**
 * Retries of requests with a body (issue 6): a body up to 64 KiB is buffered before the
 * first try and sent again, whole, on the retry; a larger body streams through once and is
 * not retried; a mirror gets the buffered body too.
 */
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { startFlaky, startMesh, until, type FlakyUpstream } from './helpers.ts'
import { rawRequest } from '../worker/helpers.ts'
import type { RunningAmbassador } from '../../worker/entry/node.ts'

let a: FlakyUpstream, b: FlakyUpstream, shadow: FlakyUpstream
let amb: RunningAmbassador

before(async () => {
  a = await startFlaky('a')
  b = await startFlaky('b')
  shadow = await startFlaky('shadow')
  amb = await startMesh({
    services: [
      { name: 'echo', endpoints: [a.url, b.url] },
      { name: 'shadow', endpoints: [shadow.url] },
    ],
    routes: [
      { name: 'echo', hostnames: ['echo'], rules: [{ backendRefs: [{ name: 'echo' }], retry: { attempts: 1, codes: [503], backoff: '1ms' } }] },
      {
        name: 'mirrored',
        hostnames: ['mirrored'],
        rules: [{ backendRefs: [{ name: 'echo' }], filters: [{ type: 'RequestMirror', requestMirror: { backendRef: { name: 'shadow' }, percent: 100 } }] }],
      },
    ],
  })
})

after(async () => {
  await amb?.close()
  await Promise.all([a, b, shadow].map((u) => u?.close()))
})

const body = (n: number) => Buffer.from(Array.from({ length: n }, (_, i) => String.fromCharCode(97 + (i % 26))).join(''), 'latin1')

test('a POST of 60 KiB is retried on the other endpoint with the same body', async () => {
  a.mode = 'fail'
  b.mode = 'fail'
  const sent = body(60 * 1024)
  // Both fail: the first try and the retry each got the whole body.
  const res = await rawRequest(amb.ports.outbound, { method: 'POST', path: '/', headers: { host: 'echo', 'content-type': 'text/plain' }, body: sent })
  assert.equal(res.status, 503)
  await until(() => a.bodies.length + b.bodies.length === 2)
  assert.equal(a.hits + b.hits, 2)
  assert.deepEqual([...a.bodies, ...b.bodies].map((x) => x.length), [sent.length, sent.length])
  assert.ok([...a.bodies, ...b.bodies].every((x) => x === sent.toString('latin1')))
  a.mode = 'ok'
  b.mode = 'ok'
})

test('a POST over 64 KiB streams through once and is not retried', async () => {
  a.mode = 'fail'
  b.mode = 'fail'
  a.hits = b.hits = 0
  a.bodies.length = b.bodies.length = 0
  const sent = body(200 * 1024)
  const res = await rawRequest(amb.ports.outbound, { method: 'POST', path: '/', headers: { host: 'echo' }, body: sent })
  assert.equal(res.status, 503)
  await until(() => a.bodies.length + b.bodies.length === 1)
  assert.equal(a.hits + b.hits, 1, 'tried once')
  assert.equal([...a.bodies, ...b.bodies][0], sent.toString('latin1'))
  a.mode = 'ok'
  b.mode = 'ok'
})

test('a mirror gets the buffered body', async () => {
  const sent = body(1000)
  const res = await rawRequest(amb.ports.outbound, { method: 'PUT', path: '/x', headers: { host: 'mirrored' }, body: sent })
  assert.equal(res.status, 200)
  await until(() => shadow.bodies.length === 1)
  assert.equal(shadow.bodies[0], sent.toString('latin1'))
})
