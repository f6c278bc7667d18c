import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createRequestMirror, type MirrorRequest } from '../../../../worker/filters/request-mirror.ts'

const req = (): MirrorRequest => ({ method: 'GET', path: '/x?y=1', host: 'echo:8080', headers: new Headers({ 'x-a': '1' }) })

test('a copy goes out with the -shadow host and returns at once; failures are swallowed', async () => {
  const sent: MirrorRequest[] = []
  const m = createRequestMirror({ percent: 100 }, {
    send: async (r) => {
      sent.push(r)
      throw new Error('mirror down')
    },
  })
  assert.equal(m.mirror(req()), true)
  await new Promise((r) => setImmediate(r))
  assert.equal(sent[0]!.host, 'echo-shadow')
  assert.equal(sent[0]!.path, '/x?y=1')
  assert.equal(sent[0]!.headers.get('x-a'), '1')
  assert.equal(m.stats.failed, 1)
  assert.equal(m.stats.inFlight, 0)
})

test('percent decides; beyond maxInFlight copies are dropped; the timeout frees a hung copy', async () => {
  let rolls = [0.1, 0.5, 0.29]
  const m = createRequestMirror({ percent: 30 }, {
    random: () => rolls.shift() ?? 0,
    maxInFlight: 2,
    timeout: 30,
    send: (_r, signal) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('timeout')))),
  })
  assert.equal(m.mirror(req()), true) // 0.1 < 0.3
  assert.equal(m.mirror(req()), false) // 0.5 ≥ 0.3
  assert.equal(m.mirror(req()), true) // 0.29
  rolls = [0, 0]
  assert.equal(m.mirror(req()), false, 'two in flight: dropped')
  assert.equal(m.stats.dropped, 1)
  await new Promise((r) => setTimeout(r, 60))
  assert.equal(m.stats.inFlight, 0, 'hung copies abandoned at the timeout')
  assert.equal(m.mirror(req()), true)
})
