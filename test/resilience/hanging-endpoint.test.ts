/**
 * Acceptance 3 of issue 6: a hanging endpoint costs at most one `backendRequest` per
 * request that meets it (then the try fails over), and when every endpoint hangs the
 * overall `request` timeout holds: 504 `upstream_timeout` on time, not later.
 */
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { load, percentile, startFlaky, startMesh, type FlakyUpstream } from './helpers.ts'
import { rawRequest } from '../worker/helpers.ts'
import type { RunningAmbassador } from '../../worker/entry/node.ts'

let ups: FlakyUpstream[]
let amb: RunningAmbassador

before(async () => {
  ups = await Promise.all(['a', 'b', 'c'].map((n) => startFlaky(n)))
  amb = await startMesh({
    // No outlier detection: every request that meets the hanging endpoint must fail over by itself.
    services: [{ name: 'echo', endpoints: ups.map((u) => u.url) }],
    routes: [
      {
        name: 'echo',
        hostnames: ['echo'],
        rules: [{ backendRefs: [{ name: 'echo' }], timeouts: { request: '3s', backendRequest: '200ms' }, retry: { attempts: 5, backoff: '5ms' } }],
      },
      {
        // Six tries of 300 ms cannot fit in 1 s: the overall timeout must cut the fourth.
        name: 'tight',
        hostnames: ['tight'],
        rules: [{ backendRefs: [{ name: 'echo' }], timeouts: { request: '1s', backendRequest: '300ms' }, retry: { attempts: 5, backoff: '5ms' } }],
      },
    ],
  })
})

after(async () => {
  await amb?.close()
  await Promise.all(ups.map((u) => u.close()))
})

test('a hanging endpoint: requests fail over within backendRequest', async () => {
  ups[0]!.mode = 'hang'
  const r = await load({ port: amb.ports.outbound, host: 'echo', rps: 100, durationMs: 1500 })
  ups[0]!.mode = 'ok'
  assert.deepEqual(r.failures, [], [...r.statuses].join(' '))
  assert.equal(r.byUpstream.get('a'), undefined, 'the hanging endpoint answered nothing')
  assert.ok(ups[0]!.hits > 0, 'requests did meet the hanging endpoint')
  // The ambassador gave up on each hung try at backendRequest (measured where it hung).
  const gaveUp = percentile(ups[0]!.hangDurations, 50)
  // Measured at the upstream, which sees a request only once its (shared, loaded) event loop
  // gets to it: the lower bound is loose. The upper bound is the point: far below the 3 s
  // request timeout that would otherwise decide.
  assert.ok(gaveUp >= 100 && gaveUp < 400, `median hung try abandoned after ${gaveUp.toFixed(0)} ms (backendRequest 200 ms)`)
  assert.ok(Math.max(...ups[0]!.hangDurations) < 1500, 'no try waited for the overall timeout')
  const max = Math.max(...r.latencies)
  assert.ok(max < 3000, `slowest ${max.toFixed(0)} ms: within the request timeout`)
  console.log(`# hanging endpoint: ${r.sent} requests, 0 failed, ${ups[0]!.hits} met it (abandoned after a median ${gaveUp.toFixed(0)} ms), client p50 ${percentile(r.latencies, 50).toFixed(1)} ms, p99 ${percentile(r.latencies, 99).toFixed(0)} ms`)
})

test('every endpoint hanging: 504 upstream_timeout when the overall request timeout passes', async () => {
  for (const u of ups) u.mode = 'hang'
  try {
    const t0 = performance.now()
    const res = await rawRequest(amb.ports.outbound, { path: '/', headers: { host: 'tight' } })
    const took = performance.now() - t0
    assert.equal(res.status, 504)
    assert.equal(JSON.parse(res.body).error, 'upstream_timeout')
    // Six tries of 100 ms could not all fit: the overall 1 s decides, within scheduling slack.
    assert.ok(took >= 990 && took < 1250, `answered after ${took.toFixed(0)} ms (request timeout 1 s)`)
    console.log(`# every endpoint hanging: 504 after ${took.toFixed(0)} ms (request timeout 1000 ms)`)
  } finally {
    for (const u of ups) u.mode = 'ok'
  }
})
