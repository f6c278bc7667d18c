/**
 * Acceptance 6 of issue 6: RequestMirror and Fault percentages within statistical bounds
 * (binomial, 5 standard deviations), and a mirror target that hangs does not slow the
 * primary nor pile up connections.
 */
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { load, percentile, startFlaky, startMesh, until, withinSd, type FlakyUpstream } from './helpers.ts'
import type { RunningAmbassador } from '../../worker/entry/node.ts'

let primary: FlakyUpstream
let shadow: FlakyUpstream
let amb: RunningAmbassador
const DELAY = 1000

before(async () => {
  primary = await startFlaky('primary')
  shadow = await startFlaky('shadow')
  amb = await startMesh({
    services: [
      { name: 'primary', endpoints: [primary.url] },
      { name: 'shadow', endpoints: [shadow.url] },
    ],
    routes: [
      {
        name: 'mirrored',
        hostnames: ['mirrored'],
        rules: [{ backendRefs: [{ name: 'primary' }], filters: [{ type: 'RequestMirror', requestMirror: { backendRef: { name: 'shadow' }, percent: 30 } }] }],
      },
      {
        name: 'faulty',
        hostnames: ['faulty'],
        rules: [
          {
            backendRefs: [{ name: 'primary' }],
            filters: [{ type: 'Fault', fault: { delay: { percent: 10, fixedDelay: `${DELAY}ms` }, abort: { percent: 20, status: 503 } } }],
          },
        ],
      },
    ],
  })
})

after(async () => {
  await amb?.close()
  await Promise.all([primary, shadow].map((u) => u?.close()))
})

test('RequestMirror sends percent of the requests to the mirror', async () => {
  const r = await load({ port: amb.ports.outbound, host: 'mirrored', rps: 500, durationMs: 2000 })
  assert.deepEqual(r.failures, [])
  await until(() => shadow.hits >= r.sent * 0.2, 2000)
  await new Promise((res) => setTimeout(res, 100))
  const b = withinSd(shadow.hits, r.sent, 0.3)
  assert.ok(b.ok, `${shadow.hits} mirrored of ${r.sent}, expected ${b.expected.toFixed(0)} ± ${(5 * b.sd).toFixed(0)}`)
  assert.equal(primary.hits, r.sent)
  console.log(`# mirror 30%: ${shadow.hits} of ${r.sent} mirrored (${((100 * shadow.hits) / r.sent).toFixed(1)}%)`)
})

test('a hanging mirror target does not slow the primary, and mirror copies in flight stay bounded', async () => {
  primary.hits = 0
  const baseline = await load({ port: amb.ports.outbound, host: 'mirrored', rps: 300, durationMs: 1000 })
  shadow.mode = 'hang'
  let peak = 0
  const r = await load({ port: amb.ports.outbound, host: 'mirrored', rps: 300, durationMs: 2000, onTick: () => (peak = Math.max(peak, shadow.openSockets)) })
  shadow.mode = 'ok'
  assert.deepEqual(r.failures, [])
  const p50 = percentile(r.latencies, 50)
  const p50base = percentile(baseline.latencies, 50)
  // A primary that waited for the mirror would take the mirror's 10 s timeout.
  assert.ok(Math.max(...r.latencies) < 2000, `slowest primary ${Math.max(...r.latencies).toFixed(0)} ms`)
  assert.ok(p50 < 3 * p50base + 20, `p50 ${p50.toFixed(1)} ms with the mirror hanging, ${p50base.toFixed(1)} ms before`)
  assert.ok(peak <= 64 + 2, `${peak} connections held at the hanging mirror (cap 64 copies in flight)`)
  const dropped = /legate_mirror_dropped_total\{service="shadow"\} (\d+)/.exec(amb.ambassador.metrics.registry.render())?.[1]
  assert.ok(Number(dropped) > 0, 'copies beyond the cap are dropped and counted')
  console.log(`# hanging mirror: primary p50 ${p50.toFixed(1)} ms (baseline ${p50base.toFixed(1)} ms), ${peak} mirror connections held, ${dropped} copies dropped`)
})

test('Fault: abort and delay percentages within bounds', async () => {
  primary.hits = 0
  // Enough client connections that requests never queue behind the delayed ones.
  const r = await load({ port: amb.ports.outbound, host: 'faulty', rps: 400, durationMs: 2500, connections: 512 })
  const aborted = r.statuses.get(503) ?? 0
  const a = withinSd(aborted, r.sent, 0.2)
  assert.ok(a.ok, `${aborted} aborted of ${r.sent}, expected ${a.expected.toFixed(0)} ± ${(5 * a.sd).toFixed(0)}`)
  assert.equal((r.statuses.get(200) ?? 0) + aborted, r.sent)
  assert.equal(primary.hits, r.sent - aborted, 'aborted requests never reach the upstream')
  const delayed = r.latencies.filter((l) => l >= DELAY).length
  const d = withinSd(delayed, r.sent, 0.1)
  assert.ok(d.ok, `${delayed} delayed of ${r.sent}, expected ${d.expected.toFixed(0)} ± ${(5 * d.sd).toFixed(0)}`)
  console.log(`# fault: ${aborted} of ${r.sent} aborted (20% configured), ${delayed} delayed ≥ ${DELAY} ms (10% configured)`)
})
