/**
 * The socket forward of a runtime (legate's own keep-alive HTTP/1.1 connections for body-less
 * requests: worker/platforms/http1/, used by the Bun and Node platforms), against an upstream
 * that is a raw TCP server scripted byte by byte, so each framing and each failure is exactly
 * what the test says: chunked and close-delimited bodies, HEAD, connection reuse, a repeated
 * answer head, a kept-alive connection the server dropped (sent again on a new one), a
 * malformed answer (502), an answer cut short, a silent upstream (504 with
 * `timeouts.backendRequest`), a client that goes away before or during the answer (the
 * upstream connection closed), and a large answer to a client that reads slowly
 * (backpressure, then every byte). Each runtime's test file runs it against its own ambassador.
 * @module
 */
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { createServer, type Server, type Socket } from 'node:net'
import { request as httpRequest } from 'node:http'
import { rawRequest, until } from './helpers.ts'

/** An ambassador serving `config` with its outbound listener on `outbound`. */
export interface ServedAmbassador {
  outbound: number
  close(): Promise<void>
}

export function socketForwardSuite(label: string, start: (config: Record<string, unknown>) => Promise<ServedAmbassador>, skip: false | string = false): void {
  const BIG = Buffer.alloc(4 * 1024 * 1024)
  for (let i = 0; i < BIG.length; i++) BIG[i] = i % 251

  let upstream: Server
  let connections = 0
  let ambassador: ServedAmbassador | undefined
  let outbound = 0
  const requests: string[] = []
  const closed = new Set<number>()
  let hung = 0
  let big = 0
  let flaky = 0

  /** Answers one request head, by its path. */
  function answer(socket: Socket & { dieOnNext?: boolean; id?: number }, head: string): void {
    const [method, path] = head.split(' ')
    requests.push(`${method} ${path}`)
    if (socket.dieOnNext) return void socket.destroy()
    const send = (text: string) => socket.write(text)
    switch (path) {
      case '/id':
        return void send(`HTTP/1.1 200 OK\r\nContent-Length: ${String(socket.id).length}\r\n\r\n${socket.id}`)
      case '/short-keep-alive':
        return void send(`HTTP/1.1 200 OK\r\nKeep-Alive: timeout=2\r\nContent-Length: ${String(socket.id).length}\r\n\r\n${socket.id}`)
      case '/flaky':
        // 503 to every other request: a rule's retry policy sees the first and asks again.
        return void send(++flaky % 2 === 1 ? 'HTTP/1.1 503 Busy\r\nContent-Length: 4\r\n\r\nbusy' : 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nagain')
      case '/chunked':
        return void send('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-Framing: chunked\r\n\r\n5\r\nhello\r\n1;ext=1\r\n \r\n5\r\nworld\r\n0\r\nX-Trailer: dropped\r\n\r\n')
      case '/close':
        send('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil ')
        return void setTimeout(() => socket.end('the close'), 50)
      case '/head':
        return void send(`HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nX-Method: ${method}\r\n\r\n`)
      case '/then-drop':
        // Kept alive as far as the client can tell; the server drops it when the next request comes.
        socket.dieOnNext = true
        return void send('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok')
      case '/garbage':
        return void send('HTTP/1.1 OK 200\r\n\r\n')
      case '/cut':
        send('HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n')
        return void socket.write(Buffer.alloc(70_000, 'x'), () => socket.destroy())
      case '/echo-head?q=1':
        return void send(`HTTP/1.1 200 OK\r\nContent-Length: ${Buffer.byteLength(head)}\r\n\r\n${head}`)
      case '/repeat':
        // The same head every time: the reader takes it from its last one (response-reader.ts).
        return void send('HTTP/1.1 200 OK\r\nConnection: keep-alive, x-hop\r\nX-Hop: 1\r\nX-Upstream: u\r\nContent-Length: 2\r\n\r\nok')
      case '/silent':
        return
      case '/hang':
        // Never answered: the test's client gives up, and the ambassador must close this connection.
        hung = socket.id!
        return
      case '/big': {
        big = socket.id!
        send('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n')
        for (let off = 0; off < BIG.length; off += 65536) {
          const part = BIG.subarray(off, off + 65536)
          socket.write(`${part.length.toString(16)}\r\n`)
          socket.write(part)
          socket.write('\r\n')
        }
        return void send('0\r\n\r\n')
      }
      default:
        return void send('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n')
    }
  }

  before(async () => {
    if (skip) return
    upstream = createServer((socket: Socket & { id?: number }) => {
      socket.id = ++connections
      socket.on('close', () => closed.add(socket.id!))
      let buf = ''
      socket.on('data', (d) => {
        buf += d.toString('latin1')
        let end: number
        while ((end = buf.indexOf('\r\n\r\n')) >= 0) {
          const head = buf.slice(0, end)
          buf = buf.slice(end + 4)
          answer(socket, head)
        }
      })
      socket.on('error', () => {})
    })
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve))
    const port = (upstream.address() as { port: number }).port
    ambassador = await start({
      mesh: 'demo',
      services: [{ name: 'raw', endpoints: [`http://127.0.0.1:${port}`] }],
      routes: [
        { name: 'raw-timeout', hostnames: ['raw-timeout'], rules: [{ backendRefs: [{ name: 'raw' }], timeouts: { backendRequest: '300ms' } }] },
        {
          name: 'raw-edit',
          hostnames: ['raw-edit'],
          rules: [{ backendRefs: [{ name: 'raw' }], filters: [{ type: 'ResponseHeaderModifier', responseHeaderModifier: { add: [{ name: 'x-added', value: 'by-route' }], remove: ['x-upstream'] } }] }],
        },
        { name: 'raw-retry', hostnames: ['raw-retry'], rules: [{ backendRefs: [{ name: 'raw' }], retry: { attempts: 2, codes: [503], backoff: '1ms' } }] },
      ],
    })
    outbound = ambassador.outbound
  })

  after(async () => {
    await ambassador?.close()
    upstream?.close()
  })

  const get = (path: string, method = 'GET', host = 'raw') => rawRequest(outbound, { method, path, headers: { host } })

  test(`${label}: requests share one kept-alive upstream connection`, { skip, timeout: 30_000 }, async () => {
    const ids = new Set<string>()
    for (let i = 0; i < 20; i++) {
      const res = await get('/id')
      assert.equal(res.status, 200)
      ids.add(res.body)
    }
    assert.equal(ids.size, 1, `upstream connections used: ${[...ids].join(', ')}`)
  })

  test(`${label}: a repeated answer head gets its hop-by-hop fields dropped and each route's edits, every time, none carried to the next`, { skip, timeout: 30_000 }, async () => {
    for (let i = 0; i < 6; i++) {
      const edited = i % 2 === 0
      const res = await get('/repeat', 'GET', edited ? 'raw-edit' : 'raw')
      assert.equal(res.body, 'ok')
      assert.equal(res.headers['x-hop'], undefined)
      assert.equal(res.headers['x-added'], edited ? 'by-route' : undefined, `answer ${i + 1}`)
      assert.equal(res.headers['x-upstream'], edited ? undefined : 'u', `answer ${i + 1}`)
    }
  })

  test(`${label}: an idle connection is closed by legate once the server's Keep-Alive: timeout (less 1 s) has passed`, { skip, timeout: 30_000 }, async () => {
    const first = (await get('/short-keep-alive')).body
    await until(() => closed.has(Number(first)), 5000, 100)
    assert.notEqual((await get('/id')).body, first)
  })

  test(`${label}: an answer a retry policy refuses is dropped and the request is tried again`, { skip, timeout: 30_000 }, async () => {
    const res = await get('/flaky', 'GET', 'raw-retry')
    assert.equal(res.status, 200)
    assert.equal(res.body, 'again')
    assert.equal(flaky % 2, 0)
  })

  test(`${label}: a chunked answer is decoded and reaches the client whole, trailers dropped`, { skip, timeout: 30_000 }, async () => {
    const res = await get('/chunked')
    assert.equal(res.status, 200)
    assert.equal(res.body, 'hello world')
    assert.equal(res.headers['x-framing'], 'chunked')
    assert.equal(res.headers['x-trailer'], undefined)
  })

  test(`${label}: an answer delimited by the server's close reaches the client whole`, { skip, timeout: 30_000 }, async () => {
    const res = await get('/close')
    assert.equal(res.status, 200)
    assert.equal(res.body, 'until the close')
  })

  test(`${label}: a HEAD answer has its fields and no body`, { skip, timeout: 30_000 }, async () => {
    const res = await get('/head', 'HEAD')
    assert.equal(res.status, 200)
    assert.equal(res.headers['x-method'], 'HEAD')
    assert.equal(res.body, '')
    // The connection is still good for the next request.
    assert.equal((await get('/chunked')).body, 'hello world')
  })

  test(`${label}: a kept-alive connection the server dropped is retried once on a new one`, { skip, timeout: 30_000 }, async () => {
    assert.equal((await get('/then-drop')).body, 'ok')
    const before = connections
    const res = await get('/id')
    assert.equal(res.status, 200)
    assert.equal(connections, before + 1)
    assert.equal(res.body, String(connections))
    // The request reached the upstream twice: once on the dropped connection, once on the new one.
    assert.deepEqual(requests.slice(-2), ['GET /id', 'GET /id'])
  })

  test(`${label}: a malformed answer is a 502 upstream_unavailable`, { skip, timeout: 30_000 }, async () => {
    const res = await get('/garbage')
    assert.equal(res.status, 502)
    assert.equal((JSON.parse(res.body) as { error: string }).error, 'upstream_unavailable')
    assert.equal((await get('/chunked')).status, 200)
  })

  test(`${label}: an answer cut short cuts the client's response (never a complete-looking one)`, { skip, timeout: 30_000 }, async () => {
    await assert.rejects(rawRequest(outbound, { path: '/cut', headers: { host: 'raw' } }), /aborted|ECONNRESET|socket hang up|premature/i)
    assert.equal((await get('/chunked')).status, 200)
  })

  test(`${label}: an upstream that never answers is a 504 upstream_timeout with timeouts.backendRequest`, { skip, timeout: 30_000 }, async () => {
    const started = Date.now()
    const res = await get('/silent', 'GET', 'raw-timeout')
    assert.equal(res.status, 504)
    assert.equal((JSON.parse(res.body) as { error: string }).error, 'upstream_timeout')
    assert.ok(Date.now() - started < 3000)
  })

  test(`${label}: a client that goes away before the answer closes the upstream connection`, { skip, timeout: 30_000 }, async () => {
    await new Promise<void>((resolve) => {
      const req = httpRequest({ host: '127.0.0.1', port: outbound, path: '/hang', headers: { host: 'raw' } })
      req.on('error', () => {})
      req.end()
      setTimeout(() => {
        req.destroy()
        resolve()
      }, 200)
    })
    // Heard within one sweep on Bun (the signal is read for calls still waiting every 100 ms), at once on Node.
    await until(() => hung > 0 && closed.has(hung), 1500, 20)
    assert.equal((await get('/chunked')).status, 200)
  })

  test(`${label}: a client that goes away in the middle of a streamed answer closes the upstream connection`, { skip, timeout: 30_000 }, async () => {
    big = 0
    await new Promise<void>((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port: outbound, path: '/big', headers: { host: 'raw' } }, (res) => {
        // The first bytes arrived: the answer is streaming; the client leaves.
        res.once('data', () => {
          req.destroy()
          resolve()
        })
      })
      req.on('error', () => {})
      req.on('close', resolve)
      setTimeout(() => reject(new Error('no answer')), 5000)
      req.end()
    })
    await until(() => big > 0 && closed.has(big), 5000, 20)
    assert.equal((await get('/chunked')).status, 200)
  })

  test(`${label}: a 4 MiB answer to a client that reads slowly arrives byte for byte`, { skip, timeout: 30_000 }, async () => {
    const got = await new Promise<Buffer>((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port: outbound, path: '/big', headers: { host: 'raw' } }, (res) => {
        const chunks: Buffer[] = []
        res.pause()
        // The client reads nothing for a while: the ambassador must hold off, not drop or buffer without end.
        setTimeout(() => {
          res.on('data', (c: Buffer) => chunks.push(c))
          res.resume()
        }, 500)
        res.on('end', () => resolve(Buffer.concat(chunks)))
        res.on('error', reject)
      })
      req.on('error', reject)
      req.end()
    })
    assert.equal(got.length, BIG.length)
    assert.ok(got.equals(BIG))
  })

  test(`${label}: the request head is the client's minus hop-by-hop fields, with the hop's own`, { skip, timeout: 30_000 }, async () => {
    const res = await rawRequest(outbound, { path: '/echo-head?q=1', headers: { host: 'raw', connection: 'keep-alive, x-named', 'x-named': '1', te: 'trailers', 'x-keep': 'yes', 'x-forwarded-for': '10.0.0.1' } })
    const lines = res.body.split('\r\n')
    assert.equal(lines[0], 'GET /echo-head?q=1 HTTP/1.1')
    const fields = new Map(lines.slice(1).map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 2)]))
    for (const gone of ['x-named', 'te', 'connection']) assert.ok(!fields.has(gone), `${gone} forwarded`)
    for (const kept of ['x-keep', 'x-request-id', 'traceparent']) assert.ok(fields.has(kept), `${kept} missing`)
    assert.equal(fields.get('host'), 'raw')
    assert.equal(fields.get('x-forwarded-for'), '10.0.0.1, 127.0.0.1')
    assert.equal(lines.filter((l) => /^host:/i.test(l)).length, 1)
  })
}
