/**
 * Acceptance 2 of issue 6: one of three endpoints is killed under steady load (400 req/s for 3 s by default).
 * With retries on, no client request fails; with retries off, failures happen only until
 * outlier detection ejects the dead endpoint, and stop afterwards.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { load, startFlaky, startMesh, type FlakyUpstream } from './helpers.ts'

// Short by default; the full run: LEGATE_KILL_RPS=500 LEGATE_KILL_MS=10000 npm test -- endpoint-killed
const RPS = Number(process.env.LEGATE_KILL_RPS ?? 400)
const DURATION = Number(process.env.LEGATE_KILL_MS ?? 3000)
const KILL_AT = DURATION / 3

async function run(retry: boolean) {
  const ups: FlakyUpstream[] = await Promise.all(['a', 'b', 'c'].map((n) => startFlaky(n)))
  const amb = await startMesh({
    services: [
      {
        name: 'echo',
        endpoints: ups.map((u) => u.url),
        outlierDetection: { consecutive5xx: 3, interval: '10s', baseEjectionTime: '30s', maxEjectionPercent: 50 },
      },
    ],
    routes: [{ name: 'echo', hostnames: ['echo'], rules: [{ backendRefs: [{ name: 'echo' }], ...(retry ? { retry: { attempts: 2, codes: [502, 503, 504], backoff: '5ms' } } : {}) }] }],
  })
  let killed = false
  try {
    const r = await load({
      port: amb.ports.outbound,
      host: 'echo',
      rps: RPS,
      durationMs: DURATION,
      onTick: (t) => {
        if (!killed && t >= KILL_AT) {
          killed = true
          void ups[1]!.kill()
        }
      },
    })
    const retries = amb.ambassador.metrics.retries.get(['echo'])
    return { r, retries, ejected: amb.ambassador.metrics.registry.render().match(/legate_endpoint_ejections_total\{[^}]*\} (\d+)/)?.[1] }
  } finally {
    await amb.close()
    await Promise.all(ups.map((u) => u.close()))
  }
}

test(`one of three endpoints killed at ${RPS} req/s, retries on: zero failed client requests`, async () => {
  const { r, retries, ejected } = await run(true)
  assert.ok(r.sent >= RPS * (DURATION / 1000) * 0.9, `sent ${r.sent}`)
  assert.deepEqual(r.failures, [], `failed: ${r.failures.length} (${[...r.statuses].join(' ')})`)
  assert.equal(ejected, '1')
  console.log(`# retries on: ${r.sent} requests, 0 failed, ${retries} retries, dead endpoint ejected once`)
})

test(`one of three endpoints killed at ${RPS} req/s, retries off: failures stop after ejection`, async () => {
  const { r, ejected } = await run(false)
  assert.equal(ejected, '1')
  const n = r.failures.length
  assert.ok(n >= 1, 'the kill must cost something without retries')
  // consecutive5xx (3) failures eject it; requests already on their way to it fail too
  // (a handful, more when the machine is loaded and more requests are in flight).
  assert.ok(n <= 50, `${n} failures`)
  const last = Math.max(...r.failures)
  assert.ok(last < KILL_AT + 1000, `last failure at ${Math.round(last)} ms, the kill at ${KILL_AT} ms: then none for the rest of the run`)
  console.log(`# retries off: ${r.sent} requests, ${n} failed (all within ${Math.round(last - KILL_AT)} ms of the kill)`)
})

test('an endpoint that resets every connection: its requests are retried elsewhere, then it is ejected', async () => {
  const ups: FlakyUpstream[] = await Promise.all(['a', 'b', 'c'].map((n) => startFlaky(n)))
  ups[2]!.mode = 'reset'
  const amb = await startMesh({
    services: [{ name: 'echo', endpoints: ups.map((u) => u.url), outlierDetection: { consecutive5xx: 3, interval: '10s', baseEjectionTime: '30s', maxEjectionPercent: 50 } }],
    routes: [{ name: 'echo', hostnames: ['echo'], rules: [{ backendRefs: [{ name: 'echo' }], retry: { attempts: 2, backoff: '5ms' } }] }],
  })
  try {
    const r = await load({ port: amb.ports.outbound, host: 'echo', rps: 200, durationMs: 1000 })
    assert.deepEqual(r.failures, [], [...r.statuses].join(' '))
    // Three resets eject it (a request or two more may already be on their way to it).
    const hits = ups[2]!.hits
    assert.ok(hits >= 3 && hits <= 6, `${hits} requests met the resetting endpoint`)
    assert.equal(amb.ambassador.metrics.retries.get(['echo']), hits, 'each of them retried')
  } finally {
    await amb.close()
    await Promise.all(ups.map((u) => u.close()))
  }
})
