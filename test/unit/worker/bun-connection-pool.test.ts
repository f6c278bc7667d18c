/**
 * The Bun socket client's pool (worker/platforms/http1/connection-pool.ts) over a fake
 * `Bun.connect`, on Node: idle reuse newest first, a stale kept-alive connection's request
 * sent again once, and idle connections of origins a config no longer names closed.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Buffer } from 'node:buffer'
import { ConnectionPools, type Exchange } from '../../../worker/platforms/http1/connection-pool.ts'

interface FakeSocket {
  data: any
  written: string[]
  terminated: boolean
  write(d: string | Uint8Array): number
  end(): void
  terminate(): void
  pause(): void
  resume(): void
  setNoDelay(): boolean
}

function fakeBun() {
  const sockets: FakeSocket[] = []
  let handlers: any
  return {
    sockets,
    answer: (s: FakeSocket, text: string) => handlers.data(s, Buffer.from(text)),
    close: (s: FakeSocket) => handlers.close(s),
    bun: {
      connect(o: { socket: any; data: any }) {
        handlers = o.socket
        const s: FakeSocket = {
          data: o.data,
          written: [],
          terminated: false,
          write(d) {
            this.written.push(String(d))
            return d.length
          },
          end() {},
          terminate() {
            this.terminated = true
          },
          pause() {},
          resume() {},
          setNoDelay: () => true,
        }
        sockets.push(s)
        return Promise.resolve(s)
      },
    },
  }
}

function exchange(request: string) {
  const seen = { status: 0, ended: false, failed: undefined as Error | undefined }
  const ex: Exchange = {
    request,
    headRequest: false,
    retryable: true,
    cancelled: false,
    conn: undefined,
    head: (h) => void (seen.status = h.status),
    body: () => {},
    end: () => void (seen.ended = true),
    fail: (err) => void (seen.failed = err),
  }
  return { ex, seen }
}

const tick = () => new Promise((r) => setImmediate(r))
const OK = 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'

/** A pool to one origin whose first connection has served one request and is idle. */
async function poolWithIdleConnection() {
  const fake = fakeBun()
  const pool = new ConnectionPools(fake.bun as never).get('http://127.0.0.1:9')
  const first = exchange('GET /1 HTTP/1.1\r\n\r\n')
  pool.send(first.ex)
  await tick()
  fake.answer(fake.sockets[0]!, OK)
  assert.deepEqual(first.seen, { status: 200, ended: true, failed: undefined })
  return { fake, pool }
}

test('a finished connection is reused by the next request; a stale one gets the request again on a new connection', async () => {
  const { fake, pool } = await poolWithIdleConnection()
  const second = exchange('GET /2 HTTP/1.1\r\n\r\n')
  pool.send(second.ex)
  assert.equal(fake.sockets.length, 1, 'reused, no new connection')
  // The server had dropped it: closed before any byte of the answer.
  fake.close(fake.sockets[0]!)
  await tick()
  assert.equal(fake.sockets.length, 2, 'sent again on a new connection')
  assert.deepEqual(fake.sockets[1]!.written, ['GET /2 HTTP/1.1\r\n\r\n'])
  fake.answer(fake.sockets[1]!, OK)
  assert.deepEqual(second.seen, { status: 200, ended: true, failed: undefined })
})

test('a connection that fails after part of the answer is not sent again: the request fails', async () => {
  const { fake, pool } = await poolWithIdleConnection()
  const b = exchange('GET /b HTTP/1.1\r\n\r\n')
  pool.send(b.ex)
  fake.answer(fake.sockets[0]!, 'HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc')
  fake.close(fake.sockets[0]!)
  await tick()
  assert.equal(fake.sockets.length, 1)
  assert.match(String(b.seen.failed?.message), /before the response was complete/)
})

test('idle connections of origins a new config no longer names are closed', async () => {
  const fake = fakeBun()
  const pools = new ConnectionPools(fake.bun as never)
  for (const origin of ['http://127.0.0.1:9', 'http://127.0.0.1:10']) {
    const x = exchange('GET / HTTP/1.1\r\n\r\n')
    pools.get(origin).send(x.ex)
    await tick()
    fake.answer(fake.sockets.at(-1)!, OK)
  }
  pools.retain(new Set(['http://127.0.0.1:10']))
  assert.deepEqual(fake.sockets.map((s) => s.terminated), [true, false])
  pools.retain(new Set())
})
