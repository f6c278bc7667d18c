/**
 * Acceptance 5 of issue 6: active health checks take an endpoint out of rotation after
 * `unhealthyThreshold` failed checks and back after `healthyThreshold` passed ones, and
 * `legate_endpoint_healthy` says so.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { load, startFlaky, startMesh, until } from './helpers.ts'

const INTERVAL = 100

test('health checks take an endpoint out after unhealthyThreshold and back after healthyThreshold', async () => {
  const ups = await Promise.all(['a', 'b', 'c'].map((n) => startFlaky(n)))
  const amb = await startMesh({
    services: [
      {
        name: 'echo',
        endpoints: ups.map((u) => u.url),
        healthCheck: { path: '/healthz', interval: `${INTERVAL}ms`, timeout: '500ms', unhealthyThreshold: 3, healthyThreshold: 2 },
      },
    ],
  })
  const healthy = async () => {
    const res = await fetch(`http://127.0.0.1:${amb.ports.admin}/metrics`)
    const text = await res.text()
    const m = new RegExp(`legate_endpoint_healthy\\{service="echo",endpoint="${ups[1]!.url.replace(/[.:/]/g, '\\$&')}"\\} (\\d)`).exec(text)
    return m?.[1]
  }
  try {
    await until(() => ups.every((u) => u.healthHits >= 2))
    assert.equal(await healthy(), '1')

    const b = ups[1]!
    b.health = 'fail'
    const failingFrom = b.healthHits
    await until(async () => (await healthy()) === '0', 5000, 5)
    const checksToDown = b.healthHits - failingFrom
    // A check or two more may land before the poll sees the change on a loaded machine.
    assert.ok(checksToDown >= 3 && checksToDown <= 5, `out after ${checksToDown} failed checks (unhealthyThreshold 3)`)

    const r = await load({ port: amb.ports.outbound, host: 'echo', rps: 200, durationMs: 500 })
    assert.deepEqual(r.failures, [])
    assert.equal(r.byUpstream.get('b'), undefined, 'no traffic to the unhealthy endpoint')

    b.health = 'ok'
    const passingFrom = b.healthHits
    await until(async () => (await healthy()) === '1', 5000, 5)
    const checksToUp = b.healthHits - passingFrom
    assert.ok(checksToUp >= 2 && checksToUp <= 4, `back after ${checksToUp} passed checks (healthyThreshold 2)`)
    const back = await load({ port: amb.ports.outbound, host: 'echo', rps: 200, durationMs: 300 })
    assert.ok((back.byUpstream.get('b') ?? 0) > back.sent / 6, 'traffic returns to it')
    console.log(`# health checks: out after ${checksToDown} failed checks, back after ${checksToUp} passed checks (thresholds 3 and 2)`)
  } finally {
    await amb.close()
    await Promise.all(ups.map((u) => u.close()))
  }
  const after = ups.reduce((n, u) => n + u.healthHits, 0)
  await new Promise((r) => setTimeout(r, 3 * INTERVAL))
  assert.equal(ups.reduce((n, u) => n + u.healthHits, 0), after, 'no checks after the ambassador stopped')
})

test('panic mode: every endpoint failing its health checks still takes traffic', async () => {
  const ups = await Promise.all(['a', 'b'].map((n) => startFlaky(n)))
  const amb = await startMesh({
    services: [
      {
        name: 'echo',
        endpoints: ups.map((u) => u.url),
        healthCheck: { path: '/healthz', interval: `${INTERVAL}ms`, timeout: '500ms', unhealthyThreshold: 2, healthyThreshold: 2 },
      },
    ],
  })
  try {
    for (const u of ups) u.health = 'fail'
    const service = amb.ambassador.holder.current!.services.get('echo')!
    await until(() => service.endpoints.every((e) => !e.healthy), 5000, 5)
    const r = await load({ port: amb.ports.outbound, host: 'echo', rps: 100, durationMs: 300 })
    assert.deepEqual(r.failures, [], 'all endpoints out → all endpoints in, rather than failing every request')
    assert.ok((r.byUpstream.get('a') ?? 0) > 0 && (r.byUpstream.get('b') ?? 0) > 0)
  } finally {
    await amb.close()
    await Promise.all(ups.map((u) => u.close()))
  }
})
