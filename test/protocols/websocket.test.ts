/**
 * WebSocket pass-through (issue 10, acceptance 1): a client talks to a WebSocket app
 * through the outbound listener (Host routing), whose endpoint is the inbound listener
 * of the same ambassador, which forwards to the app: two tunnels in a row. Echo of
 * 10,000 messages each way, a clean close from either side, authz refusing an upgrade
 * on the inbound side, the tunnel idle timeout, and the upgrade/tunnel metrics.
 */
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import type { AddressInfo } from 'node:net'
import { WebSocket, WebSocketServer } from 'ws'
import type { RunningAmbassador } from '../../worker/entry/node.ts'
import { until } from '../worker/helpers.ts'
import { ambassadorWith, freePort, metric, scrape, within } from './helpers.ts'

let app: WebSocketServer
let amb: RunningAmbassador
const serverCloses: number[] = []

before(async () => {
  app = new WebSocketServer({ host: '127.0.0.1', port: 0 })
  await new Promise((r) => app.once('listening', r))
  app.on('connection', (ws, req) => {
    ws.on('message', (data, binary) => {
      if (req.url === '/server-closes') return ws.close(4001, 'bye')
      ws.send(data, { binary })
    })
    ws.on('close', (code) => serverCloses.push(code))
  })
  const appUrl = `http://127.0.0.1:${(app.address() as AddressInfo).port}`
  const inboundPort = await freePort()
  amb = await ambassadorWith(
    {
      mesh: 'demo',
      services: [{ name: 'chat', endpoints: [`http://127.0.0.1:${inboundPort}`] }],
      policies: {
        authorization: [{ name: 'no-private', targets: ['chat'], action: 'DENY', rules: [{ to: [{ paths: ['/private*'] }] }] }],
      },
    },
    { service: 'chat', app: appUrl, inboundPort },
  )
})

after(async () => {
  await amb?.close()
  await new Promise((r) => app.close(r))
})

const open = (path: string) => new WebSocket(`ws://127.0.0.1:${amb.ports.outbound}${path}`, { headers: { host: 'chat' } })

test('10,000 messages each way through outbound and inbound; the client closes and both sides see 1000', async () => {
  const ws = open('/echo')
  await new Promise((resolve, reject) => {
    ws.once('open', resolve)
    ws.once('error', reject)
  })
  const metrics = await scrape(amb)
  assert.equal(metric(metrics, 'legate_tunnels_open', { direction: 'outbound' }), 1)
  assert.equal(metric(metrics, 'legate_tunnels_open', { direction: 'inbound' }), 1)
  const N = 10_000
  const got: string[] = []
  const all = new Promise<void>((resolve) =>
    ws.on('message', (data) => {
      got.push(String(data))
      if (got.length === N) resolve()
    }),
  )
  for (let i = 0; i < N; i++) ws.send(`message ${i} ${'x'.repeat(i % 100)}`)
  await within(all, 60_000, 'all echoes')
  for (let i = 0; i < N; i++) assert.equal(got[i], `message ${i} ${'x'.repeat(i % 100)}`)
  const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)))
  const before = serverCloses.length
  ws.close(1000, 'done')
  assert.equal(await closed, 1000)
  await until(() => serverCloses.length > before)
  assert.equal(serverCloses.at(-1), 1000)
  await until(async () => metric(await scrape(amb), 'legate_tunnels_open', { direction: 'outbound' }) === 0 && amb.ambassador.metrics.tunnelsOpen.get(['inbound']) === 0)
  const after = await scrape(amb)
  assert.ok((metric(after, 'legate_upgrades_total', { direction: 'outbound', code: '101' }) ?? 0) >= 1)
  assert.ok((metric(after, 'legate_upgrades_total', { direction: 'inbound', code: '101' }) ?? 0) >= 1)
  assert.ok((metric(after, 'legate_requests_total', { direction: 'outbound', route: 'chat', service: 'chat', code: '101' }) ?? 0) >= 1)
})

test('the app closes first (4001): the client sees its code and reason', async () => {
  const ws = open('/server-closes')
  await new Promise((resolve) => ws.once('open', resolve))
  const closed = new Promise<[number, string]>((r) => ws.once('close', (code, reason) => r([code, String(reason)])))
  ws.send('please close')
  assert.deepEqual(await closed, [4001, 'bye'])
})

test('authz denies an upgrade to /private on the inbound side: 403 reaches the client, no tunnel opens', async () => {
  const ws = open('/private/feed')
  const status = await new Promise<number>((resolve, reject) => {
    ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0))
    ws.once('open', () => reject(new Error('the upgrade was let through')))
    ws.once('error', () => {})
  })
  assert.equal(status, 403)
  const metrics = await scrape(amb)
  assert.ok((metric(metrics, 'legate_upgrades_total', { direction: 'inbound', code: '403' }) ?? 0) >= 1)
})

test('no route: 404 no_route for an upgrade to an unknown host', async () => {
  const ws = new WebSocket(`ws://127.0.0.1:${amb.ports.outbound}/x`, { headers: { host: 'nowhere' } })
  const status = await new Promise<number>((resolve) => {
    ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0))
    ws.once('error', () => resolve(-1))
  })
  assert.equal(status, 404)
})

test('a silent tunnel is closed after the idle timeout, on both sides; traffic keeps it open', async () => {
  const appUrl = `http://127.0.0.1:${(app.address() as AddressInfo).port}`
  const short = await ambassadorWith({ mesh: 'demo', services: [{ name: 'chat', endpoints: [appUrl] }] }, { limits: { tunnelIdleTimeout: 1_000 } })
  try {
    const ws = new WebSocket(`ws://127.0.0.1:${short.ports.outbound}/idle`, { headers: { host: 'chat' } })
    await within(new Promise((resolve) => ws.once('open', resolve)), 10_000, 'open')
    const before = serverCloses.length
    const closed = new Promise<number>((r) => ws.once('close', (c) => r(c)))
    // Messages every 200 ms for 2 s: longer than the idle timeout, but never silent that long.
    for (let i = 0; i < 10; i++) {
      const echoed = new Promise((r) => ws.once('message', r))
      ws.send(`ping ${i}`)
      await within(echoed, 5_000, 'echo')
      await new Promise((r) => setTimeout(r, 200))
    }
    assert.equal(ws.readyState, WebSocket.OPEN)
    const started = Date.now()
    const code = await within(closed, 10_000, 'idle close')
    const waited = Date.now() - started
    assert.equal(code, 1006)
    assert.ok(waited >= 700, `closed after ${waited} ms`)
    await until(() => serverCloses.length > before)
  } finally {
    await short.close()
  }
})
