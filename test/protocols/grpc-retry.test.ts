/**
 * gRPC retries by status (issue 10): a rule's `retry.grpcCodes` retries a trailers-only
 * answer whose grpc-status is listed (Envoy's `retry-on: unavailable`), on another
 * endpoint, with the unary request body buffered for the replay; a rule without it passes
 * the status through. A bidirectional stream under the same retry rule still flows: its
 * body is not held back waiting for an end that only comes after the answers.
 */
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import * as grpc from '@grpc/grpc-js'
import type { RunningAmbassador } from '../../worker/entry/node.ts'
import { bindGrpc, loadProto } from './grpc-helpers.ts'
import { ambassadorWith, metric, scrape } from './helpers.ts'

const PROTO = `syntax = "proto3";
package legate.retry;
message Msg { string text = 1; string server = 2; }
service Echo {
  rpc Unary (Msg) returns (Msg);
  rpc Chat (stream Msg) returns (stream Msg);
}
`

type Reply = { text: string; server: string }
type EchoClient = grpc.Client & {
  Unary(m: object, cb: (err: grpc.ServiceError | null, res: Reply) => void): grpc.ClientUnaryCall
  Chat(): grpc.ClientDuplexStream<object, Reply>
}

let Echo: grpc.ServiceClientConstructor
const servers: grpc.Server[] = []
let amb: RunningAmbassador
let retrying: EchoClient
let plain: EchoClient
let badCalls = 0

function startServer(name: string, unavailable: boolean): Promise<number> {
  const server = new grpc.Server()
  server.addService(Echo.service, {
    Unary(call: grpc.ServerUnaryCall<{ text: string }, unknown>, cb: grpc.sendUnaryData<unknown>) {
      if (unavailable) {
        badCalls++
        return cb({ code: grpc.status.UNAVAILABLE, details: `${name} is draining` })
      }
      cb(null, { text: call.request.text, server: name })
    },
    Chat(call: grpc.ServerDuplexStream<{ text: string }, unknown>) {
      call.on('data', (m: { text: string }) => call.write({ text: `re: ${m.text}`, server: name }))
      call.on('end', () => call.end())
    },
  })
  servers.push(server)
  return bindGrpc(server)
}

before(async () => {
  const pkg = loadProto(PROTO) as unknown as { legate: { retry: { Echo: grpc.ServiceClientConstructor } } }
  Echo = pkg.legate.retry.Echo
  const good = [await startServer('a', false), await startServer('b', false)]
  const bad = await startServer('bad', true)
  // `bad` first: the chat test below must be able to land on a good endpoint whatever the order.
  const endpoints = [bad, ...good].map((p) => `http://127.0.0.1:${p}`)
  amb = await ambassadorWith({
    mesh: 'demo',
    services: [
      { name: 'echo', appProtocol: 'h2c', endpoints },
      { name: 'echo-plain', appProtocol: 'h2c', endpoints },
    ],
    routes: [
      { name: 'echo', hostnames: ['echo'], rules: [{ backendRefs: [{ name: 'echo' }], retry: { attempts: 2, codes: [], grpcCodes: ['UNAVAILABLE'], backoff: '1ms' } }] },
      { name: 'echo-plain', hostnames: ['echo-plain'], rules: [{ backendRefs: [{ name: 'echo-plain' }] }] },
    ],
  })
  const target = `127.0.0.1:${amb.ports.outbound}`
  retrying = new Echo(target, grpc.credentials.createInsecure(), { 'grpc.default_authority': 'echo' }) as unknown as EchoClient
  plain = new Echo(target, grpc.credentials.createInsecure(), { 'grpc.default_authority': 'echo-plain' }) as unknown as EchoClient
})

after(async () => {
  retrying?.close()
  plain?.close()
  await amb?.close()
  for (const s of servers) s.forceShutdown()
})

const call = (client: EchoClient, text: string) =>
  new Promise<{ res?: Reply; err?: grpc.ServiceError }>((resolve) => client.Unary({ text }, (err, res) => resolve(err ? { err } : { res })))

test('a listed grpc-status in a trailers-only answer is retried on another endpoint: every call succeeds', async () => {
  const before = badCalls
  const results = await Promise.all(Array.from({ length: 150 }, (_, i) => call(retrying, `m${i}`)))
  const failed = results.filter((r) => r.err)
  assert.equal(failed.length, 0, `failed: ${failed.map((r) => r.err?.message).join('; ')}`)
  results.forEach((r, i) => assert.equal(r.res?.text, `m${i}`, 'the replayed body is the original request'))
  assert.ok(results.every((r) => r.res?.server !== 'bad'))
  assert.ok(badCalls - before >= 30, `the failing endpoint was tried (${badCalls - before} times) and its answers retried`)
  const retries = metric(await scrape(amb), 'legate_upstream_retries_total', { service: 'echo' }) ?? 0
  assert.ok(retries >= badCalls - before, `retries counted: ${retries}`)
})

test('without grpcCodes the status reaches the client unchanged', async () => {
  const results = await Promise.all(Array.from({ length: 90 }, (_, i) => call(plain, `p${i}`)))
  const unavailable = results.filter((r) => r.err?.code === grpc.status.UNAVAILABLE)
  // Round-robin over three endpoints: a third lands on the failing one.
  assert.ok(unavailable.length >= 20 && unavailable.length <= 40, `unavailable: ${unavailable.length}`)
  assert.match(unavailable[0]!.err!.details, /is draining/)
})

test('a bidirectional stream under a retry rule is not held back', async () => {
  for (let attempt = 0; attempt < 3; attempt++) {
    const stream = retrying.Chat()
    const replies: Reply[] = []
    const ended = new Promise<void>((resolve, reject) => {
      stream.on('data', (r: Reply) => replies.push(r))
      stream.on('end', () => resolve())
      stream.on('error', reject)
    })
    // Each message waits for its answer before the next is written: a proxy that buffered the
    // request stream until its end would never answer the first.
    let ok = true
    for (let i = 0; i < 5 && ok; i++) {
      stream.write({ text: `c${i}` })
      const t0 = Date.now()
      while (replies.length <= i && Date.now() - t0 < 2000) await new Promise((r) => setTimeout(r, 5))
      ok = replies.length > i
    }
    stream.end()
    const done = await ended.then(() => true, () => false)
    // The stream may have landed on the failing endpoint, which has no Chat failure mode; any
    // endpoint answers chats, so every attempt must flow.
    assert.ok(ok && done, `chat attempt ${attempt}: ${replies.length} replies`)
    assert.deepEqual(replies.map((r) => r.text), ['re: c0', 're: c1', 're: c2', 're: c3', 're: c4'])
  }
})
