/**
 * Config updates end to end with a real control (CONTRACT §4, §5): applied in order under
 * load with zero failed requests; refused configs (untrusted key, expired, older version,
 * garbage from a misbehaving control) keep the last-known-good serving and are reported in
 * /readyz, /config and metrics; a restart with --state serves at once with the control down.
 */
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { startControl } from '../../control/entry.node.ts'
import { memoryStore } from '../../control/stores/memory.ts'
import { signConfig } from '../../protocol/index.ts'
import { makeKey } from '../helpers/keys.ts'
import { createSigner, json, rawRequest, startAmbassador, startUpstream, tempDir, until, type Upstream } from './helpers.ts'

const closers: Array<() => Promise<void>> = []
after(async () => {
  for (const close of closers.reverse()) await close().catch(() => {})
})

const configFor = (a: Upstream, b: Upstream, which: 'a' | 'b' = 'a') => ({
  mesh: 'demo',
  services: [
    { name: 'a', endpoints: [a.url] },
    { name: 'b', endpoints: [b.url] },
  ],
  routes: [{ name: 'web', hostnames: ['web'], rules: [{ backendRefs: [{ name: which }] }] }],
})

async function upstreams() {
  const a = await startUpstream('a')
  const b = await startUpstream('b')
  closers.push(a.close, b.close)
  return { a, b }
}

/** A "control" that serves whatever body it is told to, with the ETag of `ver`. */
async function misbehavingControl() {
  let body = ''
  let ver = 0
  const server: Server = createServer((req, res) => {
    const inm = req.headers['if-none-match']
    if (inm === `"${ver}"` || !body) {
      // Hold a moment like a long-poll would, then 304.
      setTimeout(() => res.writeHead(304).end(), 50)
      return
    }
    res.writeHead(200, { 'content-type': 'application/jwt', etag: `"${ver}"` }).end(body)
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
  closers.push(
    () =>
      new Promise<void>((r) => {
        server.close(() => r())
        server.closeAllConnections()
      }),
  )
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    serve(text: string, etagVer: number) {
      body = text
      ver = etagVer
    },
  }
}

test('refused configs keep the last-known-good serving and are reported with their reason', async () => {
  const { a, b } = await upstreams()
  const signer = await createSigner()
  const control = await misbehavingControl()
  control.serve(await signer.sign(configFor(a, b), 10), 10)
  const amb = await startAmbassador({ trust: signer.trust, mesh: 'demo', control: control.url, controlMinBackoff: 20, controlMaxBackoff: 100 })
  closers.push(amb.close)
  const admin = `http://127.0.0.1:${amb.ports.admin}`
  await until(() => amb.ambassador.holder.current?.verified.ver === 10)

  const stranger = await makeKey('stranger')
  const now = Date.now()
  const cases: Array<{ reason: string; jws: string }> = [
    { reason: 'untrusted_key', jws: await signConfig(configFor(a, b, 'b'), { key: stranger.key, kid: stranger.kid, alg: stranger.alg, ver: 11 }) },
    { reason: 'expired', jws: await signer.sign(configFor(a, b, 'b'), 12, { now: now - 3 * 3600_000, ttlSeconds: 3600 }) },
    { reason: 'version_not_newer', jws: await signer.sign(configFor(a, b, 'b'), 9) },
    { reason: 'malformed', jws: '<html>502 Bad Gateway</html>' },
  ]
  for (const [i, c] of cases.entries()) {
    control.serve(c.jws, 100 + i)
    await until(async () => (await json(await fetch(`${admin}/config`))).lastError?.code === c.reason, 3000)
    const ready = await fetch(`${admin}/readyz`)
    assert.equal(ready.status, 200, c.reason)
    const r = await json(ready)
    assert.equal(r.ready, true)
    assert.match(r.reason, new RegExp(c.reason))
    const cfg = await json(await fetch(`${admin}/config`))
    assert.equal(cfg.version, 10)
    assert.equal(cfg.lastError.code, c.reason)
    assert.equal(typeof cfg.lastError.message, 'string')
    assert.ok(!Number.isNaN(Date.parse(cfg.lastError.at)))
    const metrics = await (await fetch(`${admin}/metrics`)).text()
    assert.match(metrics, new RegExp(`legate_config_updates_total\\{result="rejected",reason="${c.reason}"\\} [1-9]`))
    assert.match(metrics, /legate_config_version 10\n/)
    // Traffic is unaffected: still served by the last-known-good (route → a).
    const res = await rawRequest(amb.ports.outbound, { path: '/', headers: { host: 'web' } })
    assert.equal(res.status, 200)
    assert.equal(JSON.parse(res.body).name, 'a')
  }
  // A good config clears the error.
  control.serve(await signer.sign(configFor(a, b, 'b'), 20), 20)
  await until(() => amb.ambassador.holder.current?.verified.ver === 20, 3000)
  assert.equal((await json(await fetch(`${admin}/config`))).lastError, null)
  assert.equal(JSON.parse((await rawRequest(amb.ports.outbound, { path: '/', headers: { host: 'web' } })).body).name, 'b')
})

test('not ready (503 with a reason) until a first config applies', async () => {
  const signer = await createSigner()
  const amb = await startAmbassador({ trust: signer.trust, mesh: 'demo', control: 'http://127.0.0.1:9', controlMinBackoff: 20, controlMaxBackoff: 50 })
  closers.push(amb.close)
  await until(() => amb.ambassador.holder.lastError !== null, 3000)
  const res = await fetch(`http://127.0.0.1:${amb.ports.admin}/readyz`)
  assert.equal(res.status, 503)
  const body = await json(res)
  assert.equal(body.ready, false)
  assert.match(body.reason, /unreachable/)
  const out = await rawRequest(amb.ports.outbound, { path: '/', headers: { host: 'web' } })
  assert.equal(out.status, 503)
  assert.equal(JSON.parse(out.body).error, 'not_ready')
})

test('a config published every 100 ms for 10 s under load: zero failed requests, every version applied in order', async () => {
  const { a, b } = await upstreams()
  const signer = await createSigner()
  const control = await startControl({ store: memoryStore(), trust: signer.trust, port: 0, hostname: '127.0.0.1' })
  closers.push(control.close)
  // Signed up front: the publisher's pace must not depend on how fast this machine signs.
  const signed = new Map<number, string>()
  for (let ver = 1; ver <= 101; ver++) signed.set(ver, await signer.sign(configFor(a, b, ver % 2 ? 'a' : 'b'), ver))
  const put = async (ver: number) => {
    const res = await fetch(`${control.url}/v1/meshes/demo/config`, { method: 'PUT', headers: { 'content-type': 'application/jwt' }, body: signed.get(ver)! })
    assert.equal(res.status, 201, await res.text())
  }
  await put(1)
  const amb = await startAmbassador({ trust: signer.trust, mesh: 'demo', control: control.url, controlMinBackoff: 20 })
  closers.push(amb.close)
  const applied: number[] = []
  amb.ambassador.holder.onApply((s) => applied.push(s.verified.ver))
  await until(() => amb.ambassador.holder.current !== undefined)

  let stop = false
  let ok = 0
  const failures: string[] = []
  const worker = async () => {
    while (!stop) {
      try {
        const res = await rawRequest(amb.ports.outbound, { path: '/load', headers: { host: 'web' } })
        if (res.status === 200) ok++
        else failures.push(`${res.status} ${res.body}`)
      } catch (err) {
        failures.push(String(err))
      }
    }
  }
  const load = Array.from({ length: 8 }, worker)
  const published: number[] = []
  const t0 = Date.now()
  // 100 versions, one every 100 ms (10 s when the machine keeps up; a slow PUT never makes
  // the next one follow closer than 100 ms after the previous one went out).
  for (let ver = 2; ver <= 101; ver++) {
    const tick = Date.now()
    await put(ver)
    published.push(ver)
    await new Promise((r) => setTimeout(r, Math.max(0, 100 - (Date.now() - tick))))
  }
  const last = published.at(-1)!
  await until(() => amb.ambassador.holder.current?.verified.ver === last, 3000)
  stop = true
  await Promise.all(load)
  assert.deepEqual(failures, [])
  assert.ok(ok > 100, `only ${ok} requests`)
  assert.deepEqual(applied.filter((v) => v !== 1), published)
  const cfg = await json(await fetch(`http://127.0.0.1:${amb.ports.admin}/config`))
  assert.equal(cfg.version, last)
  console.log(`# ${published.length} versions published in ${((Date.now() - t0) / 1000).toFixed(1)} s, all applied in order; ${ok} requests, 0 failed`)
})

test('restart with --state while the control is down: ready and routing within 1 s', async () => {
  const { a, b } = await upstreams()
  const signer = await createSigner()
  const control = await startControl({ store: memoryStore(), trust: signer.trust, port: 0, hostname: '127.0.0.1' })
  const stateDir = tempDir()
  const res = await fetch(`${control.url}/v1/meshes/demo/config`, { method: 'PUT', body: await signer.sign(configFor(a, b), 5) })
  assert.equal(res.status, 201)
  const first = await startAmbassador({ trust: signer.trust, mesh: 'demo', control: control.url, stateDir })
  await until(() => first.ambassador.holder.current?.verified.ver === 5)
  await until(async () => (await import('node:fs')).readdirSync(stateDir).some((f) => f.endsWith('.jws')))
  await first.close()
  await control.close()

  const t0 = performance.now()
  const second = await startAmbassador({ trust: signer.trust, mesh: 'demo', control: control.url, stateDir, controlMinBackoff: 50 })
  closers.push(second.close)
  const ready = await fetch(`http://127.0.0.1:${second.ports.admin}/readyz`)
  const routed = await rawRequest(second.ports.outbound, { path: '/', headers: { host: 'web' } })
  const elapsed = performance.now() - t0
  assert.equal(ready.status, 200)
  assert.equal(routed.status, 200)
  assert.equal(JSON.parse(routed.body).name, 'a')
  assert.ok(elapsed < 1000, `took ${elapsed} ms`)

  // And the persisted version is a floor: the control cannot roll it back after a restart.
  const older = await signer.sign(configFor(a, b, 'b'), 4)
  assert.equal(await second.ambassador.holder.offer(older, 'test'), 'rejected')
  assert.equal(second.ambassador.holder.lastError?.code, 'version_not_newer')
})

test('a control that answers at once (no long-poll, or ignoring If-None-Match) is not polled in a tight loop', async () => {
  const { a, b } = await upstreams()
  const signer = await createSigner()
  const jws = await signer.sign(configFor(a, b), 3)
  let hits = 0
  let mode: '304' | '200' = '200'
  const server: Server = createServer((req, res) => {
    hits++
    if (mode === '304' && req.headers['if-none-match']) return void res.writeHead(304).end()
    res.writeHead(200, { etag: '"3"' }).end(jws)
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
  closers.push(() => new Promise<void>((r) => (server.close(() => r()), server.closeAllConnections())))
  const amb = await startAmbassador({ trust: signer.trust, mesh: 'demo', control: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, controlMinBackoff: 100 })
  closers.push(amb.close)
  await until(() => amb.ambassador.holder.current?.verified.ver === 3)
  for (const m of ['200', '304'] as const) {
    mode = m
    await new Promise((r) => setTimeout(r, 100))
    const before = hits
    await new Promise((r) => setTimeout(r, 1000))
    // 100 ms pauses: about 10 polls a second, not thousands.
    assert.ok(hits - before <= 15, `${hits - before} polls in 1 s (${m})`)
    assert.ok(hits - before >= 3, `${hits - before} polls in 1 s (${m}): it still polls`)
  }
  assert.equal(amb.ambassador.holder.lastError, null)
})
