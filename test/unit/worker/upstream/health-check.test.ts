import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createEndpointSet } from '../../../../worker/upstream/endpoint-set.ts'
import { createHealthChecker, type SetIntervalLike } from '../../../../worker/upstream/health-check.ts'

const timers: SetIntervalLike = (fn, ms) => {
  const t = setInterval(fn, ms)
  return { cancel: () => clearInterval(t) }
}

async function listen(handler: Parameters<typeof createServer>[1]): Promise<{ server: Server; url: string }> {
  const server = createServer(handler)
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }
}

const until = async (cond: () => boolean, ms = 3000) => {
  const end = Date.now() + ms
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not reached in time')
    await new Promise((r) => setTimeout(r, 5))
  }
}

test('health checks take an endpoint out after unhealthyThreshold failures and back after healthyThreshold passes', async () => {
  let status = 200
  let probes = 0
  const paths: string[] = []
  const { server, url } = await listen((req, res) => {
    probes++
    paths.push(req.url ?? '')
    res.writeHead(status).end()
  })
  const set = createEndpointSet([{ url, weight: 1 }])
  const e = set.endpoints[0]!
  const changes: string[] = []
  const checker = createHealthChecker({ path: '/healthz', interval: 20, timeout: 200, unhealthyThreshold: 3, healthyThreshold: 2 }, set.endpoints, {
    setInterval: timers,
    onChange: (_e, healthy) => changes.push(`${healthy ? 'up' : 'down'}@${probes}`),
  })
  try {
    await until(() => probes >= 2)
    assert.equal(e.healthy, true)
    status = 503
    const failedFrom = probes
    await until(() => !e.healthy)
    // Exactly unhealthyThreshold failing probes (allowing for one already in flight at the switch).
    const downAt = Number(changes[0]!.split('@')[1])
    assert.ok(downAt - failedFrom >= 3 && downAt - failedFrom <= 4, `down after ${downAt - failedFrom} failing probes`)
    status = 200
    const passFrom = probes
    await until(() => e.healthy)
    const upAt = Number(changes[1]!.split('@')[1])
    assert.ok(upAt - passFrom >= 2 && upAt - passFrom <= 3, `up after ${upAt - passFrom} passing probes`)
    assert.ok(paths.every((p) => p === '/healthz'))
  } finally {
    checker.stop()
    server.close()
  }
  const after = probes
  await new Promise((r) => setTimeout(r, 100))
  assert.equal(probes, after, 'no probe after stop()')
})

test('a check that hangs past timeout counts as a failure', async () => {
  const { server, url } = await listen(() => {
    /* never answers */
  })
  const set = createEndpointSet([{ url, weight: 1 }])
  const checker = createHealthChecker({ path: '/healthz', interval: 10, timeout: 30, unhealthyThreshold: 2, healthyThreshold: 1 }, set.endpoints, { setInterval: timers })
  try {
    const start = Date.now()
    await until(() => !set.endpoints[0]!.healthy)
    assert.ok(Date.now() - start >= 60, 'two timeouts of 30 ms')
  } finally {
    checker.stop()
    server.closeAllConnections()
    server.close()
  }
})
