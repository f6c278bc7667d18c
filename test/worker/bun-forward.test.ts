/**
 * `legate ambassador` on Bun (`bun bin/legate.js`), the small-body upstream leg
 * (worker/platforms/web/small-body-forward.ts): request headers as the portable path sends
 * them (hop-by-hop and Connection-named fields dropped, repeated fields kept, Host, the
 * x-forwarded-for/x-request-id/traceparent the hop sets, a route's RequestHeaderModifier),
 * response headers without hop-by-hop fields plus a route's ResponseHeaderModifier, and a
 * gzip answer passed on byte for byte with its Content-Encoding (Bun's fetch would inflate it);
 * a client that goes away cancels the upstream request, an upstream that does not listen is a
 * 502, and an answer over the fast path's 64 KiB streams whole.
 */
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { gzipSync } from 'node:zlib'
import { request as httpRequest } from 'node:http'
import { rawRequest, startUpstream, until, type Upstream } from './helpers.ts'
import { freePort, skipWithoutBun as skip, startBunAmbassador, type BunAmbassador } from './bun-ambassador.ts'

const GZ = gzipSync(Buffer.from('hello from a compressed upstream '.repeat(40)))

let echo: Upstream, gz: Upstream, slow: Upstream, big: Upstream, ambassador: BunAmbassador | undefined, outbound = 0
let slowClosedEarly = 0
const BIG = Buffer.alloc(200 * 1024, 'b')

before(async () => {
  if (skip) return
  echo = await startUpstream('echo')
  gz = await startUpstream('gz', (req, res) => {
    req.resume()
    res.writeHead(200, { 'content-type': 'text/plain', 'content-encoding': 'gzip', 'content-length': GZ.length })
    res.end(GZ)
  })
  slow = await startUpstream('slow', (req, res) => {
    req.resume()
    const t = setTimeout(() => res.end('late'), 5000)
    res.on('close', () => {
      clearTimeout(t)
      if (!res.writableFinished) slowClosedEarly++
    })
  })
  big = await startUpstream('big', (req, res) => {
    req.resume()
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': BIG.length })
    res.end(BIG)
  })
  const nobody = `http://127.0.0.1:${await freePort()}`
  const config = {
    mesh: 'demo',
    services: [
      { name: 'echo', endpoints: [echo.url] },
      { name: 'gz', endpoints: [gz.url] },
      { name: 'slow', endpoints: [slow.url] },
      { name: 'big', endpoints: [big.url] },
      { name: 'nobody', endpoints: [nobody] },
    ],
    routes: [
      // A route timeout sends the request through the portable forward (worker/upstream/forward.ts).
      { name: 'gz-timeout', hostnames: ['gz-timeout'], rules: [{ backendRefs: [{ name: 'gz' }], timeouts: { request: '5s' } }] },
      {
        name: 'edited',
        hostnames: ['edited'],
        rules: [
          {
            backendRefs: [{ name: 'echo' }],
            filters: [
              { type: 'RequestHeaderModifier', requestHeaderModifier: { set: [{ name: 'x-set', value: 'by-route' }], remove: ['x-drop-me'] } },
              { type: 'ResponseHeaderModifier', responseHeaderModifier: { add: [{ name: 'x-added', value: 'by-route' }], remove: ['x-upstream'] } },
            ],
          },
        ],
      },
    ],
  }
  ambassador = await startBunAmbassador(config)
  outbound = ambassador.outbound
})

after(async () => {
  await ambassador?.close()
  await echo?.close()
  await gz?.close()
  await slow?.close()
  await big?.close()
})


test('Bun: request headers upstream as on the portable path', { skip, timeout: 30_000 }, async () => {
  const res = await rawRequest(outbound, {
    path: '/a?b=1',
    headers: {
      host: 'echo',
      connection: 'keep-alive, x-named',
      'x-named': 'hop',
      te: 'trailers',
      'proxy-authorization': 'secret',
      'x-forwarded-for': '10.0.0.1',
      'x-request-id': 'bun-fwd-1',
      cookie: 'a=1',
      accept: 'text/plain',
    },
  })
  assert.equal(res.status, 200)
  const seen = JSON.parse(res.body) as { url: string; headers: Record<string, string> }
  assert.equal(seen.url, '/a?b=1')
  const h = seen.headers
  assert.equal(h.host, 'echo')
  for (const gone of ['x-named', 'te', 'proxy-authorization']) assert.equal(h[gone], undefined, gone)
  assert.equal(h['x-forwarded-for'], '10.0.0.1, 127.0.0.1')
  assert.equal(h['x-request-id'], 'bun-fwd-1')
  assert.match(h.traceparent ?? '', /^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/)
  assert.equal(h.cookie, 'a=1')
  assert.equal(h.accept, 'text/plain')
  // The upstream's Connection-named and keep-alive fields do not reach the client.
  assert.equal(res.headers['x-hop'], undefined)
  assert.equal(res.headers['x-upstream'], 'echo')
})

test('Bun: a route\'s request and response header modifiers apply on the fast path', { skip, timeout: 30_000 }, async () => {
  const res = await rawRequest(outbound, { path: '/', headers: { host: 'edited', 'x-drop-me': '1', 'x-keep': '2' } })
  assert.equal(res.status, 200)
  const h = (JSON.parse(res.body) as { headers: Record<string, string> }).headers
  assert.equal(h['x-set'], 'by-route')
  assert.equal(h['x-drop-me'], undefined)
  assert.equal(h['x-keep'], '2')
  assert.equal(res.headers['x-added'], 'by-route')
  assert.equal(res.headers['x-upstream'], undefined)
})

for (const host of ['gz', 'gz-timeout'])
test(`Bun: a gzip answer reaches the client as the upstream sent it (${host === 'gz' ? 'the fast path' : 'the portable forward'})`, { skip, timeout: 30_000 }, async () => {
  const got = await new Promise<{ headers: Record<string, unknown>; body: Buffer }>((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port: outbound, path: '/z', headers: { host, 'accept-encoding': 'gzip' } }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(chunks) }))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end()
  })
  assert.equal(got.headers['content-encoding'], 'gzip')
  assert.equal(Number(got.headers['content-length']), GZ.length)
  assert.deepEqual(got.body, GZ)
})

test('Bun: a client that goes away cancels the upstream request on the fast path', { skip, timeout: 30_000 }, async () => {
  const before = slowClosedEarly
  await new Promise<void>((resolve) => {
    const req = httpRequest({ host: '127.0.0.1', port: outbound, path: '/', headers: { host: 'slow' } })
    req.on('error', () => resolve())
    req.end()
    setTimeout(() => {
      req.destroy()
      resolve()
    }, 300)
  })
  await until(() => slowClosedEarly === before + 1, 3000)
})

test('Bun: an upstream that does not listen is a 502 upstream_unavailable on the fast path', { skip, timeout: 30_000 }, async () => {
  const res = await rawRequest(outbound, { path: '/', headers: { host: 'nobody' } })
  assert.equal(res.status, 502)
  assert.equal((JSON.parse(res.body) as { error: string }).error, 'upstream_unavailable')
})

test('Bun: an answer over 64 KiB streams to the client whole', { skip, timeout: 30_000 }, async () => {
  const got = await new Promise<{ status: number; body: Buffer }>((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port: outbound, path: '/big', headers: { host: 'big' } }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end()
  })
  assert.equal(got.status, 200)
  assert.equal(got.body.length, BIG.length)
  assert.ok(got.body.equals(BIG))
})
