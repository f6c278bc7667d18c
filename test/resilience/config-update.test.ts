/**
 * Endpoint state survives a config update (issue 6, "Build"): an endpoint ejected under
 * version 1 stays ejected after version 2 lists it again, and the retry budget spent under
 * version 1 stays spent.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { load, startFlaky, startMesh } from './helpers.ts'

test('an ejected endpoint stays ejected across a config update that keeps its URL', async () => {
  const ups = await Promise.all(['a', 'b', 'c'].map((n) => startFlaky(n)))
  const config = (weightA: number) => ({
    mesh: 'demo',
    services: [
      {
        name: 'echo',
        endpoints: [{ url: ups[0]!.url, weight: weightA }, ups[1]!.url, ups[2]!.url],
        outlierDetection: { consecutive5xx: 3, interval: '10s', baseEjectionTime: '30s', maxEjectionPercent: 50 },
      },
    ],
  })
  const amb = await startMesh(config(1))
  try {
    ups[1]!.mode = 'fail'
    const before = await load({ port: amb.ports.outbound, host: 'echo', rps: 200, durationMs: 300 })
    // Three 503s eject b (one more may already be on its way when the third comes back).
    const failed = before.statuses.get(503) ?? 0
    assert.ok(failed >= 3 && failed <= 5, `${failed} × 503 before b was ejected`)
    assert.ok(before.statuses.get(200)! > failed)

    // Version 2 changes a's weight and keeps b's URL.
    assert.equal(await amb.ambassador.holder.offer(await amb.signer.sign(config(2), 2), 'test'), 'applied')
    ups[1]!.mode = 'ok'
    const after = await load({ port: amb.ports.outbound, host: 'echo', rps: 200, durationMs: 600 })
    assert.deepEqual(after.failures, [])
    assert.equal(after.byUpstream.get('b'), undefined, 'b is still ejected under version 2')
    // And version 2's weights apply: a gets twice c's share (smooth round-robin, exact).
    const a = after.byUpstream.get('a') ?? 0
    const c = after.byUpstream.get('c') ?? 0
    assert.ok(Math.abs(a - 2 * c) <= 3, `a ${a}, c ${c}`)
  } finally {
    await amb.close()
    await Promise.all(ups.map((u) => u.close()))
  }
})
