/**
 * The inbound listener (to the local app; a client's x-legate-source never passes), the
 * access log line (one JSON object per request with the fields operators grep for), and a
 * client abort cancelling the upstream request.
 */
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { writeFileSync } from 'node:fs'
import { Writable } from 'node:stream'
import { request } from 'node:http'
import { createSigner, rawRequest, startAmbassador, startUpstream, tempDir, until, type Upstream } from './helpers.ts'
import type { RunningAmbassador } from '../../worker/entry/node.ts'

let app: Upstream, slow: Upstream, amb: RunningAmbassador
const lines: string[] = []
let slowClosedEarly = 0

before(async () => {
  app = await startUpstream('app')
  slow = await startUpstream('slow', (req, res) => {
    const t = setTimeout(() => res.end('late'), 5000)
    res.on('close', () => {
      clearTimeout(t)
      if (!res.writableFinished) slowClosedEarly++
    })
  })
  const signer = await createSigner()
  const file = join(tempDir(), 'c.jws')
  writeFileSync(
    file,
    await signer.sign({ mesh: 'demo', services: [{ name: 'app', endpoints: [app.url] }, { name: 'slow', endpoints: [slow.url] }], routes: [] }, 1),
  )
  const sink = new Writable({
    write(chunk, _enc, cb) {
      lines.push(...String(chunk).split('\n').filter(Boolean))
      cb()
    },
  })
  amb = await startAmbassador({ trust: signer.trust, mesh: 'demo', configFile: file, service: 'app', app: app.url, logLevel: 'info', logStream: sink })
  await until(() => amb.ambassador.holder.current !== undefined)
})

after(async () => {
  await amb?.close()
  await app?.close()
  await slow?.close()
})

test('inbound forwards to the app and strips a client-set x-legate-source', async () => {
  const res = await rawRequest(amb.ports.inbound!, { path: '/in?a=1', headers: { host: 'app', 'x-legate-source': 'admin' } })
  assert.equal(res.status, 200)
  const body = JSON.parse(res.body)
  assert.equal(body.name, 'app')
  assert.equal(body.url, '/in?a=1')
  assert.equal(body.headers['x-legate-source'], undefined)
  assert.match(body.headers['x-request-id'], /^[0-9a-f]{32}$/)
})

test('one JSON access-log line per request with request id, trace id, route, service, endpoint, status, bytes', async () => {
  lines.length = 0
  const res = await rawRequest(amb.ports.outbound, { path: '/logged?x=1', headers: { host: 'app', 'x-request-id': 'log-me-1' } })
  assert.equal(res.status, 200)
  amb.platform.flushLogs()
  await until(() => lines.some((l) => l.includes('log-me-1')), 2000)
  const access = lines.map((l) => JSON.parse(l)).filter((l) => l.type === 'access' && l.request_id === 'log-me-1')
  assert.equal(access.length, 1)
  const a = access[0]
  assert.equal(a.request_id, 'log-me-1')
  assert.match(a.trace_id, /^[0-9a-f]{32}$/)
  assert.equal(a.direction, 'outbound')
  assert.equal(a.method, 'GET')
  assert.equal(a.host, 'app')
  assert.equal(a.path, '/logged')
  assert.equal(a.route, 'app')
  assert.equal(a.service, 'app')
  assert.equal(a.endpoint, app.url)
  assert.equal(a.status, 200)
  assert.equal(a.bytes, Buffer.byteLength(res.body))
  assert.equal(a.reason, null)
  assert.ok(a.duration > 0 && a.duration < 5)
  assert.ok(!Number.isNaN(Date.parse(a.time)))

  lines.length = 0
  await rawRequest(amb.ports.outbound, { path: '/', headers: { host: 'nowhere', 'x-request-id': 'log-me-2' } })
  amb.platform.flushLogs()
  await until(() => lines.some((l) => l.includes('log-me-2')), 2000)
  const miss = lines.map((l) => JSON.parse(l)).find((l) => l.request_id === 'log-me-2')
  assert.equal(miss.status, 404)
  assert.equal(miss.reason, 'no_route')
})

test('a client that goes away cancels the upstream request', async () => {
  const before = slowClosedEarly
  await new Promise<void>((resolve) => {
    const req = request({ host: '127.0.0.1', port: amb.ports.outbound, path: '/', headers: { host: 'slow' } })
    req.on('error', () => resolve())
    req.end()
    setTimeout(() => {
      req.destroy()
      resolve()
    }, 200)
  })
  await until(() => slowClosedEarly === before + 1, 2000)
})

test('admin /logging: the level changes while the ambassador runs; access lines follow it', async () => {
  const admin = `http://127.0.0.1:${amb.ports.admin}/logging`
  assert.deepEqual(await (await fetch(admin)).json(), { level: 'info' })
  const logged = async (id: string) => {
    await rawRequest(amb.ports.outbound, { path: '/', headers: { host: 'app', 'x-request-id': id } })
    amb.platform.flushLogs()
    await new Promise((r) => setTimeout(r, 50))
    return lines.some((l) => l.includes(id))
  }
  try {
    lines.length = 0
    const res = await fetch(`${admin}?level=warn`, { method: 'POST' })
    assert.equal(res.status, 200)
    assert.deepEqual(await res.json(), { level: 'warn', previous: 'info' })
    assert.deepEqual(await (await fetch(admin)).json(), { level: 'warn' })
    amb.platform.flushLogs()
    await until(() => lines.some((l) => l.includes('log level changed')), 2000)
    const changed = JSON.parse(lines.find((l) => l.includes('log level changed'))!)
    assert.deepEqual([changed.level, changed.from, changed.to], ['warn', 'info', 'warn'])
    assert.equal(await logged('quiet-at-warn'), false)

    for (const bad of ['?level=loud', '', '?level=INFO', '?level=constructor']) {
      const r = await fetch(`${admin}${bad}`, { method: 'POST' })
      assert.equal(r.status, 400, bad)
      assert.equal((await r.json()).error, 'bad_request')
    }
    assert.deepEqual(await (await fetch(admin)).json(), { level: 'warn' }, 'a refused change changes nothing')
  } finally {
    assert.equal((await fetch(`${admin}?level=info`, { method: 'POST' })).status, 200)
  }
  assert.equal(await logged('heard-at-info'), true)
})
