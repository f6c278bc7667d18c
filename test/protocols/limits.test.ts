/**
 * Listener limits (issue 10, acceptance 5): slowloris connections (headers dribbled one
 * byte a second, or nothing at all) are cut by the headers timeout, oversized header
 * blocks and too many header fields are refused with 431, all while normal traffic on the
 * same listener goes on unaffected; plus the connection cap and request body limits (413).
 */
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { connect, type Socket } from 'node:net'
import { request as httpRequest } from 'node:http'
import { connect as http2Connect } from 'node:http2'
import type { RunningAmbassador } from '../../worker/entry/node.ts'
import { rawRequest, startUpstream, type Upstream } from '../worker/helpers.ts'
import { ambassadorWith, metric, scrape, within } from './helpers.ts'

let echo: Upstream
let amb: RunningAmbassador

const config = (url: string) => ({
  mesh: 'demo',
  services: [{ name: 'echo', endpoints: [url] }],
  routes: [
    {
      name: 'echo',
      hostnames: ['echo'],
      rules: [
        { matches: [{ path: { type: 'PathPrefix', value: '/small' } }], backendRefs: [{ name: 'echo' }], maxRequestBodyBytes: 1000 },
        { backendRefs: [{ name: 'echo' }] },
      ],
    },
  ],
})

before(async () => {
  echo = await startUpstream('echo')
  amb = await ambassadorWith(config(echo.url), { limits: { headersTimeout: 2_000, maxHeaderBytes: 8 * 1024, maxHeaderCount: 50, maxRequestBodyBytes: 100_000 } })
})

after(async () => {
  await amb?.close()
  await echo?.close()
})

/** A TCP connection to the outbound listener, with what it received and when it closed. */
function rawSocket(port: number) {
  const socket = connect(port, '127.0.0.1')
  const state = { data: '', closedAt: 0, socket }
  socket.setEncoding('latin1')
  socket.on('data', (d: string) => (state.data += d))
  socket.on('error', () => {})
  const closed = new Promise<void>((r) => socket.once('close', () => ((state.closedAt = Date.now()), r())))
  return { state, closed, opened: new Promise<void>((r) => socket.once('connect', () => r())) }
}

test('slowloris (one header byte a second) and silent connections are cut after the headers timeout; normal traffic is unaffected', async () => {
  const head = 'GET /slow HTTP/1.1\r\nHost: echo\r\nX-Padding: ' + 'a'.repeat(200) + '\r\n\r\n'
  const started = Date.now()
  const dribblers = Array.from({ length: 20 }, () => rawSocket(amb.ports.outbound))
  const silent = Array.from({ length: 5 }, () => rawSocket(amb.ports.outbound))
  await Promise.all([...dribblers, ...silent].map((d) => d.opened))
  let i = 0
  const dribble = setInterval(() => {
    for (const d of dribblers) if (!d.state.socket.destroyed) d.state.socket.write(head[i] ?? 'a')
    i++
  }, 1_000)
  // Normal requests on the same listener the whole time: all 200, none slow.
  const latencies: number[] = []
  const normal = (async () => {
    while (Date.now() - started < 4_000) {
      const t = Date.now()
      const res = await rawRequest(amb.ports.outbound, { path: '/ok', headers: { host: 'echo' } })
      assert.equal(res.status, 200)
      latencies.push(Date.now() - t)
      await new Promise((r) => setTimeout(r, 20))
    }
  })()
  try {
    await within(Promise.all([...dribblers, ...silent].map((d) => d.closed)), 10_000, 'slow connections closed')
  } finally {
    clearInterval(dribble)
  }
  await normal
  for (const d of [...dribblers, ...silent]) {
    const after = d.state.closedAt - started
    // 2 s timeout, checked every 250 ms; never the request through.
    assert.ok(after >= 1_900 && after < 4_500, `closed after ${after} ms`)
  }
  for (const d of dribblers) assert.match(d.state.data, /^(HTTP\/1\.1 408|$)/)
  assert.equal(echo.seen.filter((s) => s.url === '/slow').length, 0)
  assert.ok(latencies.length >= 20, `only ${latencies.length} normal requests`)
  latencies.sort((a, b) => a - b)
  assert.ok(latencies[Math.floor(latencies.length * 0.99)]! < 1_000, `p99 ${latencies.at(-1)} ms`)
})

const localReplies = async (reason: string) => metric(await scrape(amb), 'legate_local_replies_total', { reason }) ?? 0

test('an oversized header block gets 431 header_limit (counted) and the connection closes; the next request is fine', async () => {
  const before = await localReplies('header_limit')
  const big = rawSocket(amb.ports.outbound)
  await big.opened
  big.state.socket.write(`GET /big HTTP/1.1\r\nHost: echo\r\nX-Big: ${'b'.repeat(9 * 1024)}\r\n\r\n`)
  await within(big.closed, 5_000, 'oversized close')
  assert.match(big.state.data, /^HTTP\/1\.1 431 /)
  assert.equal(JSON.parse(big.state.data.slice(big.state.data.indexOf('\r\n\r\n') + 4)).error, 'header_limit')
  assert.equal(await localReplies('header_limit'), before + 1)
  // Malformed HTTP still gets Node's plain 400, and closes.
  const garbage = rawSocket(amb.ports.outbound)
  await garbage.opened
  garbage.state.socket.write('NOT HTTP AT ALL\r\n\r\n')
  await within(garbage.closed, 5_000, 'malformed close')
  assert.match(garbage.state.data, /^HTTP\/1\.1 400 /)
  const ok = await rawRequest(amb.ports.outbound, { path: '/fine', headers: { host: 'echo' } })
  assert.equal(ok.status, 200)
})

test('too many header fields: 431 header_limit, counted as a local reply', async () => {
  const before = await localReplies('header_limit')
  const headers: Record<string, string> = { host: 'echo' }
  for (let n = 0; n < 60; n++) headers[`x-h${n}`] = String(n)
  const res = await rawRequest(amb.ports.outbound, { path: '/many', headers })
  assert.equal(res.status, 431)
  assert.equal(JSON.parse(res.body).error, 'header_limit')
  assert.equal(echo.seen.filter((s) => s.url === '/many').length, 0)
  assert.equal(await localReplies('header_limit'), before + 1)
})

test('request bodies: the rule limit (1,000) and the listener limit (100,000) answer 413 by Content-Length; a longer chunked body is cut', async () => {
  const small = await rawRequest(amb.ports.outbound, { method: 'POST', path: '/small', headers: { host: 'echo', 'content-type': 'text/plain' }, body: 'x'.repeat(1_000) })
  assert.equal(small.status, 200)
  const before = await localReplies('request_too_large')
  const over = await rawRequest(amb.ports.outbound, { method: 'POST', path: '/small', headers: { host: 'echo' }, body: 'x'.repeat(1_001) })
  assert.equal(over.status, 413)
  assert.equal(JSON.parse(over.body).error, 'request_too_large')
  assert.equal(await localReplies('request_too_large'), before + 1)
  const big = await rawRequest(amb.ports.outbound, { method: 'POST', path: '/other', headers: { host: 'echo' }, body: Buffer.alloc(100_001) })
  assert.equal(big.status, 413)
  const fine = await rawRequest(amb.ports.outbound, { method: 'POST', path: '/other', headers: { host: 'echo' }, body: Buffer.alloc(100_000) })
  assert.equal(fine.status, 200)
  // Chunked (no Content-Length): counted as it streams, cut once past the rule's limit.
  const chunked = await new Promise<number | string>((resolve) => {
    const req = httpRequest({ host: '127.0.0.1', port: amb.ports.outbound, method: 'POST', path: '/small/stream', headers: { host: 'echo', 'transfer-encoding': 'chunked' } }, (res) => {
      res.resume()
      res.on('end', () => resolve(res.statusCode ?? 0))
      res.on('error', () => resolve('cut'))
    })
    req.on('error', () => resolve('cut'))
    for (let k = 0; k < 10; k++) req.write('y'.repeat(500))
    req.end()
  })
  assert.ok(chunked === 413 || chunked === 'cut', `chunked over the limit: ${chunked}`)
})

test('connection cap: beyond maxConnections new connections are closed at accept, and accepted again once one closes', async () => {
  const capped = await ambassadorWith(config(echo.url), { limits: { maxConnections: 5, headersTimeout: 30_000 } })
  const held: Socket[] = []
  try {
    for (let k = 0; k < 5; k++) {
      const s = rawSocket(capped.ports.outbound)
      await s.opened
      s.state.socket.write('G')
      held.push(s.state.socket)
    }
    await new Promise((r) => setTimeout(r, 100))
    const extra = rawSocket(capped.ports.outbound)
    extra.state.socket.write('GET / HTTP/1.1\r\nHost: echo\r\n\r\n')
    await within(extra.closed, 5_000, 'over-cap close')
    assert.equal(extra.state.data, '')
    held.pop()!.destroy()
    await new Promise((r) => setTimeout(r, 100))
    const ok = await rawRequest(capped.ports.outbound, { path: '/again', headers: { host: 'echo', connection: 'close' } })
    assert.equal(ok.status, 200)
  } finally {
    for (const s of held) s.destroy()
    await capped.close()
  }
})

test('idle timeout: an idle keep-alive connection and an idle HTTP/2 session are closed; an HTTP/2 request over the field limit is refused', async () => {
  const idle = await ambassadorWith(config(echo.url), { limits: { idleTimeout: 500, maxHeaderCount: 20 } })
  try {
    // HTTP/1.1: one request, then silence.
    const s = rawSocket(idle.ports.outbound)
    await s.opened
    s.state.socket.write('GET /idle HTTP/1.1\r\nHost: echo\r\n\r\n')
    const t = Date.now()
    await within(s.closed, 5_000, 'idle keep-alive close')
    assert.match(s.state.data, /^HTTP\/1\.1 200 /)
    assert.ok(Date.now() - t >= 400, `closed after ${Date.now() - t} ms`)
    // HTTP/2: one request, then silence: the session gets GOAWAY and closes.
    const session = http2Connect(`http://127.0.0.1:${idle.ports.outbound}`)
    session.on('error', () => {})
    const ok = session.request({ ':path': '/h2-idle', ':authority': 'echo' })
    ok.resume()
    const status = await within(new Promise<number>((r) => ok.once('response', (h) => r(Number(h[':status'])))), 5_000, 'h2 response')
    assert.equal(status, 200)
    // Too many header fields on HTTP/2: the stream is refused, the session lives on.
    const many: Record<string, string> = { ':path': '/h2-many', ':authority': 'echo' }
    for (let n = 0; n < 30; n++) many[`x-h${n}`] = String(n)
    const refused = session.request(many)
    refused.on('error', () => {})
    refused.resume()
    const refusedAs = await within(new Promise<string>((r) => (refused.once('response', (h) => r(String(h[':status']))), refused.once('close', () => r(`rst ${refused.rstCode}`)))), 5_000, 'h2 refused')
    assert.ok(refusedAs === '431' || refusedAs.startsWith('rst'), `an HTTP/2 request over the field limit answered ${refusedAs}`)
    assert.equal(echo.seen.filter((x) => x.url === '/h2-many').length, 0)
    await within(new Promise((r) => session.once('close', r)), 5_000, 'idle h2 session close')
  } finally {
    await idle.close()
  }
})
