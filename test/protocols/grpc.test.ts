/**
 * gRPC through the ambassador over h2c (issue 10, acceptance 2): real @grpc/grpc-js
 * servers behind a service declared `appProtocol: h2c`, a grpc-js client on the outbound
 * listener (HTTP/2 prior knowledge on the same port as HTTP/1.1). Unary and server
 * streaming with trailing metadata and grpc-status intact (OK and an error status), the
 * status in metrics and the access log, and 1,000 calls over one client connection
 * balanced per call across three endpoints.
 */
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { PassThrough } from 'node:stream'
import * as grpc from '@grpc/grpc-js'
import type { RunningAmbassador } from '../../worker/entry/node.ts'
import { bindGrpc, loadProto } from './grpc-helpers.ts'
import { until } from '../worker/helpers.ts'
import { ambassadorWith, metric, scrape, within } from './helpers.ts'

const PROTO = `syntax = "proto3";
package legate.test;
message Msg { string text = 1; string server = 2; int32 n = 3; }
service Echo {
  rpc Unary (Msg) returns (Msg);
  rpc Stream (Msg) returns (stream Msg);
  rpc Collect (stream Msg) returns (Msg);
  rpc Chat (stream Msg) returns (stream Msg);
}
`

type EchoClient = grpc.Client & {
  Unary(m: object, md: grpc.Metadata, cb: (err: grpc.ServiceError | null, res: { text: string; server: string }) => void): grpc.ClientUnaryCall
  Stream(m: object): grpc.ClientReadableStream<{ text: string; server: string; n: number }>
  Collect(cb: (err: grpc.ServiceError | null, res: { text: string; n: number }) => void): grpc.ClientWritableStream<object>
  Chat(): grpc.ClientDuplexStream<object, { text: string; n: number }>
}

let Echo: grpc.ServiceClientConstructor
const servers: grpc.Server[] = []
let amb: RunningAmbassador
let client: EchoClient
let inbound: RunningAmbassador
let firstPort = 0
const log: string[] = []

function startServer(name: string): Promise<number> {
  const server = new grpc.Server()
  server.addService(Echo.service, {
    Unary(call: grpc.ServerUnaryCall<{ text: string }, unknown>, cb: grpc.sendUnaryData<unknown>) {
      if (call.request.text === 'missing') return cb({ code: grpc.status.NOT_FOUND, details: 'no such thing' })
      const trailer = new grpc.Metadata()
      trailer.set('x-trailer', `from-${name}`)
      cb(null, { text: call.request.text, server: name }, trailer)
    },
    Stream(call: grpc.ServerWritableStream<{ text: string; n: number }, unknown>) {
      if (call.request.text === 'slow') {
        // One message every 100 ms: a stream still open while the ambassador drains.
        let i = 0
        const t = setInterval(() => {
          if (i === call.request.n) {
            clearInterval(t)
            return call.end()
          }
          call.write({ text: 'slow', server: name, n: i++ })
        }, 100)
        call.on('cancelled', () => clearInterval(t))
        return
      }
      for (let i = 0; i < call.request.n; i++) call.write({ text: `${call.request.text} ${i}`, server: name, n: i })
      const trailer = new grpc.Metadata()
      trailer.set('x-count', String(call.request.n))
      call.end(trailer)
    },
    Collect(call: grpc.ServerReadableStream<{ text: string }, unknown>, cb: grpc.sendUnaryData<unknown>) {
      let n = 0
      call.on('data', () => n++)
      call.on('end', () => cb(null, { text: 'collected', server: name, n }))
    },
    Chat(call: grpc.ServerDuplexStream<{ text: string; n: number }, unknown>) {
      call.on('data', (m: { text: string; n: number }) => call.write({ text: `re: ${m.text}`, server: name, n: m.n }))
      call.on('end', () => call.end())
    },
  })
  servers.push(server)
  return bindGrpc(server)
}

before(async () => {
  const pkg = loadProto(PROTO) as unknown as { legate: { test: { Echo: grpc.ServiceClientConstructor } } }
  Echo = pkg.legate.test.Echo
  const ports = [await startServer('a'), await startServer('b'), await startServer('c')]
  firstPort = ports[0]!
  const logStream = new PassThrough()
  logStream.on('data', (chunk: Buffer) => log.push(...String(chunk).split('\n').filter(Boolean)))
  amb = await ambassadorWith(
    { mesh: 'demo', services: [{ name: 'echo', appProtocol: 'h2c', endpoints: ports.map((p) => `http://127.0.0.1:${p}`) }] },
    { logLevel: 'info', logStream },
  )
  // :authority names the service, as a Host header would.
  // The same servers as an inbound app (--app-protocol h2c): the ambassador in front of a gRPC service.
  inbound = await ambassadorWith({ mesh: 'demo', services: [{ name: 'echo', endpoints: ['http://127.0.0.1:9'] }] }, { service: 'echo', app: `http://127.0.0.1:${ports[0]}`, appProtocol: 'h2c' })
  client = new Echo(`127.0.0.1:${amb.ports.outbound}`, grpc.credentials.createInsecure(), { 'grpc.default_authority': 'echo' }) as unknown as EchoClient
})

after(async () => {
  client?.close()
  await amb?.close()
  await inbound?.close()
  for (const s of servers) s.forceShutdown()
})

function unary(text: string): Promise<{ res?: { text: string; server: string }; err?: grpc.ServiceError; trailers?: grpc.Metadata }> {
  return new Promise((resolve) => {
    let out: { res?: { text: string; server: string }; err?: grpc.ServiceError } = {}
    const call = client.Unary({ text }, new grpc.Metadata(), (err, res) => {
      out = err ? { err } : { res }
    })
    call.on('status', (s: grpc.StatusObject) => setImmediate(() => resolve({ ...out, trailers: s.metadata })))
  })
}

test('unary call: answer, trailing metadata and grpc-status 0 intact; status in metrics and the access log', async () => {
  const { res, err, trailers } = await within(unary('hello'), 10_000, 'unary call')
  assert.equal(err, undefined)
  assert.equal(res?.text, 'hello')
  assert.match(String(trailers?.get('x-trailer')[0]), /^from-[abc]$/)
  await until(async () => (metric(await scrape(amb), 'legate_grpc_responses_total', { direction: 'outbound', service: 'echo', grpc_status: '0' }) ?? 0) >= 1)
  await until(() => log.some((l) => l.includes('"type":"access"') && l.includes('"grpc_status":"0"')))
})

test('an error status (NOT_FOUND, trailers-only) reaches the client with its message', async () => {
  const { err } = await within(unary('missing'), 10_000, 'unary call')
  assert.equal(err?.code, grpc.status.NOT_FOUND)
  assert.equal(err?.details, 'no such thing')
  await until(async () => (metric(await scrape(amb), 'legate_grpc_responses_total', { direction: 'outbound', service: 'echo', grpc_status: '5' }) ?? 0) >= 1)
  await until(() => log.some((l) => l.includes('"grpc_status":"5"') && l.includes('"status":200')))
})

test('server streaming: 500 messages in order, then trailers and status OK', async () => {
  const call = client.Stream({ text: 'tick', n: 500 })
  const got: number[] = []
  call.on('data', (m) => got.push(m.n))
  const status = await within(new Promise<grpc.StatusObject>((r) => call.on('status', r)), 20_000, 'stream status')
  assert.equal(status.code, grpc.status.OK)
  assert.equal(String(status.metadata.get('x-count')[0]), '500')
  assert.deepEqual(got, Array.from({ length: 500 }, (_, i) => i))
})

test('1,000 calls over one client connection are balanced per call across the three endpoints', async () => {
  const counts: Record<string, number> = { a: 0, b: 0, c: 0 }
  // 50 at a time on the one channel (one HTTP/2 connection), 1,000 in all.
  for (let batch = 0; batch < 20; batch++) {
    const results = await within(Promise.all(Array.from({ length: 50 }, (_, i) => unary(`call ${batch * 50 + i}`))), 30_000, 'batch')
    for (const r of results) {
      assert.equal(r.err, undefined)
      counts[r.res!.server]!++
    }
  }
  assert.equal(counts.a! + counts.b! + counts.c!, 1000)
  // Round-robin gives 333/333/334; per-connection balancing would put all 1,000 on one.
  for (const [server, n] of Object.entries(counts)) assert.ok(n >= 300 && n <= 367, `endpoint ${server} got ${n} of 1,000`)
})

test('client streaming and bidirectional streaming pass through, the request stream kept open for as long as the client writes', async () => {
  const collected = new Promise<{ text: string; n: number }>((resolve, reject) => {
    const call = client.Collect((err, res) => (err ? reject(err) : resolve(res)))
    for (let i = 0; i < 200; i++) call.write({ text: `part ${i}` })
    call.end()
  })
  const summary = await within(collected, 10_000, 'client stream')
  assert.equal(summary.text, 'collected')
  assert.equal(summary.n, 200)
  const chat = client.Chat()
  const replies: number[] = []
  chat.on('data', (m) => replies.push(m.n))
  // One message at a time, each answered before the next: the stream stays open across round trips.
  for (let i = 0; i < 20; i++) {
    const got = new Promise((r) => chat.once('data', r))
    chat.write({ text: `line ${i}`, n: i })
    await within(got, 5_000, `reply ${i}`)
    await new Promise((r) => setTimeout(r, 10))
  }
  chat.end()
  const status = await within(new Promise<grpc.StatusObject>((r) => chat.on('status', r)), 10_000, 'chat status')
  assert.equal(status.code, grpc.status.OK)
  assert.deepEqual(replies, Array.from({ length: 20 }, (_, i) => i))
})

test('inbound: a gRPC app behind --app-protocol h2c', async () => {
  const viaInbound = new Echo(`127.0.0.1:${inbound.ports.inbound}`, grpc.credentials.createInsecure(), { 'grpc.default_authority': 'echo' }) as unknown as EchoClient
  try {
    const res = await within(
      new Promise<{ text: string; server: string }>((resolve, reject) => viaInbound.Unary({ text: 'in' }, new grpc.Metadata(), (err, r) => (err ? reject(err) : resolve(r)))),
      10_000,
      'inbound unary',
    )
    assert.deepEqual(res, { text: 'in', server: 'a' })
  } finally {
    viaInbound.close()
  }
})

test('drain: a server stream open when the drain starts runs to its end; the drain then finishes', async () => {
  const draining = await ambassadorWith(
    { mesh: 'demo', services: [{ name: 'echo', appProtocol: 'h2c', endpoints: [`http://127.0.0.1:${firstPort}`] }] },
    { drainDelay: 200, drainTimeout: 10_000 },
  )
  const c = new Echo(`127.0.0.1:${draining.ports.outbound}`, grpc.credentials.createInsecure(), { 'grpc.default_authority': 'echo' }) as unknown as EchoClient
  try {
    const call = c.Stream({ text: 'slow', n: 15 })
    const got: number[] = []
    call.on('data', (m) => got.push(m.n))
    await until(() => got.length >= 2, 5_000)
    const t = Date.now()
    const drained = draining.drain()
    const status = await within(new Promise<grpc.StatusObject>((r) => call.on('status', r)), 10_000, 'stream status')
    assert.equal(status.code, grpc.status.OK)
    assert.equal(got.length, 15)
    assert.equal(await within(drained, 10_000, 'drain'), true)
    assert.ok(Date.now() - t >= 1_000, 'the drain waited for the stream')
  } finally {
    c.close()
    await draining.close()
  }
})
