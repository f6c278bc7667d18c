/**
 * HTTP/2 upstreams and request bodies: an HTTP/1.1 client and an HTTP/2 client POST to a
 * service declared `appProtocol: h2c` whose first endpoint refuses connections; the rule
 * retries, and the body reaches the live endpoint whole, whichever endpoint was tried first.
 */
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { createServer, connect, type ClientHttp2Stream, type Http2Server } from 'node:http2'
import type { AddressInfo } from 'node:net'
import type { RunningAmbassador } from '../../worker/entry/node.ts'
import { rawRequest, startUpstream, type Upstream } from '../worker/helpers.ts'
import { ambassadorWith, freePort, within } from './helpers.ts'

let h2: Http2Server
let failing: Http2Server
const liveBodies: string[] = []
let h1: Upstream
let amb: RunningAmbassador

before(async () => {
  h2 = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      liveBodies.push(Buffer.concat(chunks).toString())
      res.writeHead(200, { 'content-type': 'text/plain' }).end(`got ${Buffer.concat(chunks).toString()}`)
    })
  })
  await new Promise<void>((r) => h2.listen(0, '127.0.0.1', () => r()))
  // Reads the body, then answers 503: a retry would need the body again.
  failing = createServer((req, res) => {
    req.resume()
    req.on('end', () => res.writeHead(503).end('busy'))
  })
  await new Promise<void>((r) => failing.listen(0, '127.0.0.1', () => r()))
  const live = `http://127.0.0.1:${(h2.address() as AddressInfo).port}`
  h1 = await startUpstream('h1', (req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => res.writeHead(200, { 'content-type': 'text/plain', 'x-upstream-version': req.httpVersion }).end(`h1 got ${Buffer.concat(chunks).toString()}`))
  })
  const dead = `http://127.0.0.1:${await freePort()}`
  amb = await ambassadorWith({
    mesh: 'demo',
    services: [
      { name: 'h2', appProtocol: 'h2c', endpoints: [dead, live] },
      { name: 'h1', endpoints: [h1.url] },
      { name: 'busy', appProtocol: 'h2c', endpoints: [`http://127.0.0.1:${(failing.address() as AddressInfo).port}`, live] },
    ],
    routes: [
      { name: 'h2', hostnames: ['h2'], rules: [{ backendRefs: [{ name: 'h2' }], retry: { attempts: 2, backoff: '1ms' } }] },
      { name: 'busy', hostnames: ['busy'], rules: [{ backendRefs: [{ name: 'busy' }], retry: { attempts: 2, codes: [503], backoff: '1ms' } }] },
    ],
  })
})

after(async () => {
  await amb?.close()
  h2?.close()
  failing?.close()
  await h1?.close()
})

test('HTTP/1.1 client, Content-Length body: retried past the dead endpoint with the body whole', async () => {
  for (let i = 0; i < 4; i++) {
    const res = await rawRequest(amb.ports.outbound, { method: 'POST', path: '/echo', headers: { host: 'h2', 'content-type': 'text/plain' }, body: `hello ${i}` })
    assert.equal(res.status, 200)
    assert.equal(res.body, `got hello ${i}`)
  }
})

test('HTTP/2 client, streamed body without Content-Length: retried past the dead endpoint with the body whole', async () => {
  const session = connect(`http://127.0.0.1:${amb.ports.outbound}`)
  try {
    for (let i = 0; i < 4; i++) {
      const stream = session.request({ ':method': 'POST', ':path': '/echo', ':authority': 'h2' })
      stream.write('part one, ')
      // Past BODY_PAUSE_MS: the body streams (not buffered), yet a refused connection still retries it.
      setTimeout(() => stream.end(`part two ${i}`), 60)
      const [status, body] = await within(
        new Promise<[number, string]>((resolve) => {
          let status = 0
          let body = ''
          stream.on('response', (h) => (status = Number(h[':status'])))
          stream.setEncoding('utf8').on('data', (d: string) => (body += d))
          stream.on('close', () => resolve([status, body]))
        }),
        10_000,
        'h2 POST',
      )
      assert.equal(status, 200)
      assert.equal(body, `got part one, part two ${i}`)
    }
  } finally {
    session.close()
  }
})

test('HTTP/2: a local reply to a request whose body is still open ends the stream (no stream left hanging)', async () => {
  const session = connect(`http://127.0.0.1:${amb.ports.outbound}`)
  try {
    const stream = session.request({ ':method': 'POST', ':path': '/x', ':authority': 'nowhere' })
    stream.write('the body goes on...') // and is never ended by the client
    const [status, rst] = await within(
      new Promise<[number, number]>((resolve) => {
        let status = 0
        stream.on('response', (h) => (status = Number(h[':status'])))
        stream.resume()
        stream.on('close', () => resolve([status, stream.rstCode]))
      }),
      5_000,
      'stream close',
    )
    assert.equal(status, 404)
    assert.equal(rst, 0)
  } finally {
    session.close()
  }
})

test('HTTP/2 client to an HTTP/1.1 upstream: headers without pseudo-headers, a streamed body (no Content-Length) and one with a length', async () => {
  const session = connect(`http://127.0.0.1:${amb.ports.outbound}`)
  const post = (headers: Record<string, string>, parts: string[]) =>
    within(
      new Promise<[number, string, string]>((resolve) => {
        const stream = session.request({ ':method': 'POST', ':path': '/up', ':authority': 'h1', ...headers })
        let status = 0
        let version = ''
        let body = ''
        stream.on('response', (h) => ((status = Number(h[':status'])), (version = String(h['x-upstream-version']))))
        stream.setEncoding('utf8').on('data', (d: string) => (body += d))
        stream.on('close', () => resolve([status, version, body]))
        for (const p of parts.slice(0, -1)) stream.write(p)
        setTimeout(() => stream.end(parts.at(-1)), 20)
      }),
      10_000,
      'h2 → h1 POST',
    )
  try {
    assert.deepEqual(await post({}, ['streamed ', 'body']), [200, '1.1', 'h1 got streamed body'])
    assert.deepEqual(await post({ 'content-length': '10' }, ['sized ', 'body']), [200, '1.1', 'h1 got sized body'])
    const seen = h1.seen.at(-1)!
    assert.equal(seen.headers[':method'], undefined)
    assert.equal(seen.headers.host, 'h1')
  } finally {
    session.close()
  }
})

/** Four HTTP/2 POSTs to the `busy` service, one after the other, each body sent by `send`: their statuses and the bodies the live endpoint got. */
async function postsToBusy(send: (stream: ClientHttp2Stream, i: number) => void): Promise<{ statuses: number[]; bodies: string[] }> {
  const session = connect(`http://127.0.0.1:${amb.ports.outbound}`)
  const before = liveBodies.length
  try {
    const statuses: number[] = []
    for (let i = 0; i < 4; i++) {
      const stream = session.request({ ':method': 'POST', ':path': '/busy', ':authority': 'busy' })
      send(stream, i)
      statuses.push(await within(new Promise<number>((resolve) => (stream.on('response', (h) => resolve(Number(h[':status']))), stream.resume())), 10_000, 'busy POST'))
    }
    return { statuses, bodies: liveBodies.slice(before) }
  } finally {
    session.close()
  }
}

test('HTTP/2 client body streamed with a pause, after a 503: never sent twice; 502 instead of half a body', async () => {
  const { statuses, bodies } = await postsToBusy((stream, i) => {
    stream.write(`first half ${i}, `)
    // A pause far past BODY_PAUSE_MS: the body streams (as a client stream would) instead of
    // being buffered for a replay, so a retry cannot send it again.
    setTimeout(() => stream.end(`second half ${i}`), 150)
  })
  // Round-robin alternates the failing and the live endpoint; a streamed body is not kept,
  // so a retry after the failing endpoint read it ends as 502, never as a second, partial copy.
  assert.ok(statuses.every((st) => st === 200 || st === 502), `statuses ${statuses}`)
  assert.ok(statuses.includes(502), `statuses ${statuses}`)
  for (const body of bodies) assert.match(body, /^first half \d, second half \d$/)
})

test('HTTP/2 client body sent at once (a unary call) after a 503: buffered, retried on the live endpoint, whole', async () => {
  const { statuses, bodies } = await postsToBusy((stream, i) => stream.end(`whole body ${i}`))
  assert.deepEqual(statuses, [200, 200, 200, 200])
  assert.deepEqual(bodies, ['whole body 0', 'whole body 1', 'whole body 2', 'whole body 3'])
})
