/**
 * `npx tsx bench/protocols.ts [--seconds 5] [--concurrency 32] [--messages 5000] [--profile DIR]`: what
 * issue 10's protocols cost through legate, against the same call made directly.
 *
 * - gRPC unary: a @grpc/grpc-js client (one channel, `--concurrency` calls in flight, closed
 *   loop) against a grpc-js server, directly and through `legate ambassador` (outbound
 *   listener, h2c in, `appProtocol: h2c` out). Calls per second and p50/p99 latency.
 * - WebSocket round trip: one `ws` connection, one 64-byte message at a time echoed back,
 *   directly and through the outbound listener. p50/p99 round-trip time.
 *
 * The ambassador runs as its own process (the real CLI, `--log-level warn`); client and
 * upstream servers share this process. Nothing is pinned: on a shared 2-core machine the
 * figures swing (NOTES.md: ±30% between runs); compare the two columns of one run only.
 * @module
 */
import { spawn } from 'node:child_process'
import { writeFileSync, mkdtempSync } from 'node:fs'
import { createServer, type AddressInfo } from 'node:net'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import * as grpc from '@grpc/grpc-js'
import * as protoLoader from '@grpc/proto-loader'
import { WebSocket, WebSocketServer } from 'ws'
import { generateSigningKey, importSigningKey, signConfig } from '../protocol/index.ts'
import { percentile, round } from './lib/stats.ts'
import { treeCpu } from './lib/proc.ts'

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 ? Number(process.argv[i + 1]) : fallback
}
const SECONDS = arg('seconds', 5)
const CONCURRENCY = arg('concurrency', 32)
const MESSAGES = arg('messages', 5000)

const PROTO = `syntax = "proto3";
package bench;
message Msg { string text = 1; }
service Echo { rpc Unary (Msg) returns (Msg); }
`

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo
      s.close(() => resolve(port))
    })
  })

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'legate-bench-protocols-'))
  writeFileSync(join(dir, 'echo.proto'), PROTO)
  const pkg = grpc.loadPackageDefinition(protoLoader.loadSync(join(dir, 'echo.proto'))) as unknown as { bench: { Echo: grpc.ServiceClientConstructor } }
  const Echo = pkg.bench.Echo

  // Upstreams: a grpc-js server and a ws echo server.
  const server = new grpc.Server()
  server.addService(Echo.service, { Unary: (call: grpc.ServerUnaryCall<{ text: string }, unknown>, cb: grpc.sendUnaryData<unknown>) => cb(null, { text: call.request.text }) })
  const grpcPort = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))))
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 })
  await new Promise((r) => wss.once('listening', r))
  wss.on('connection', (ws) => ws.on('message', (d, binary) => ws.send(d, { binary })))
  const wsPort = (wss.address() as AddressInfo).port

  // The ambassador: the real CLI in its own process.
  const key = await generateSigningKey('bench', 'EdDSA')
  const signing = await importSigningKey(key.privateJwk)
  const jws = await signConfig(
    {
      mesh: 'bench',
      services: [
        { name: 'grpc', appProtocol: 'h2c', endpoints: [`http://127.0.0.1:${grpcPort}`] },
        { name: 'ws', endpoints: [`http://127.0.0.1:${wsPort}`] },
      ],
    },
    { key: signing.key, kid: 'bench', alg: 'EdDSA', ver: 1 },
  )
  writeFileSync(join(dir, 'c.jws'), jws)
  writeFileSync(join(dir, 'trust.json'), JSON.stringify({ keys: [key.publicJwk] }))
  const [admin, outbound] = [await freePort(), await freePort()]
  // `--profile DIR`: the ambassador writes a V8 CPU profile there when it exits.
  const profile = process.argv.includes('--profile') ? ['--cpu-prof', `--cpu-prof-dir=${process.argv[process.argv.indexOf('--profile') + 1]}`] : []
  const child = spawn(process.execPath, [...profile, new URL('../bin/legate.js', import.meta.url).pathname, 'ambassador', '--config-file', join(dir, 'c.jws'), '--mesh', 'bench', '--trust', join(dir, 'trust.json'), '--admin', String(admin), '--outbound', String(outbound), '--log-level', 'warn', '--drain-delay', '0s', '--drain-timeout', '1s'], { stdio: ['ignore', 'ignore', 'inherit'] })
  for (let i = 0; i < 300; i++) {
    const ok = await fetch(`http://127.0.0.1:${admin}/readyz`).then((r) => r.ok).catch(() => false)
    if (ok) break
    await new Promise((r) => setTimeout(r, 50))
  }

  const grpcRun = async (target: string, authority: string | undefined) => {
    const client = new Echo(target, grpc.credentials.createInsecure(), authority ? { 'grpc.default_authority': authority } : {}) as unknown as grpc.Client & {
      Unary(m: object, cb: (err: Error | null) => void): void
    }
    const call = () => new Promise<void>((resolve, reject) => client.Unary({ text: 'hello' }, (err) => (err ? reject(err) : resolve())))
    const loop = async (until: number, lat: number[] | undefined) => {
      const worker = async () => {
        while (performance.now() < until) {
          const t = performance.now()
          await call()
          lat?.push(performance.now() - t)
        }
      }
      await Promise.all(Array.from({ length: CONCURRENCY }, worker))
    }
    await loop(performance.now() + 1_000, undefined)
    const lat: number[] = []
    const start = performance.now()
    const cpu0 = treeCpu(child.pid!)
    await loop(start + SECONDS * 1000, lat)
    const elapsed = (performance.now() - start) / 1000
    const cpu = treeCpu(child.pid!) - cpu0
    client.close()
    lat.sort((a, b) => a - b)
    // CPU the ambassador process spent per call (0 when the call went direct).
    const ambassadorCpuUs = authority ? round(cpu / lat.length, 0) : 0
    return { callsPerSecond: round(lat.length / elapsed, 0), p50ms: round(percentile(lat, 50), 2), p99ms: round(percentile(lat, 99), 2), ambassadorCpuUsPerCall: ambassadorCpuUs }
  }

  const wsRun = async (url: string, host: string | undefined) => {
    const ws = new WebSocket(url, host ? { headers: { host } } : {})
    await new Promise((resolve, reject) => (ws.once('open', resolve), ws.once('error', reject)))
    const payload = Buffer.alloc(64, 7)
    const rtt = async (n: number, out: number[] | undefined) => {
      for (let i = 0; i < n; i++) {
        const t = performance.now()
        await new Promise<void>((r) => (ws.once('message', () => r()), ws.send(payload)))
        out?.push(performance.now() - t)
      }
    }
    await rtt(500, undefined)
    const out: number[] = []
    await rtt(MESSAGES, out)
    ws.close()
    out.sort((a, b) => a - b)
    return { messages: out.length, p50ms: round(percentile(out, 50), 3), p99ms: round(percentile(out, 99), 3) }
  }

  const results = {
    machine: { cpus: cpus().length, model: cpus()[0]?.model, loadavg: loadavg().map((x) => round(x, 1)), node: process.version },
    settings: { seconds: SECONDS, concurrency: CONCURRENCY, messages: MESSAGES },
    grpcUnary: {
      direct: await grpcRun(`127.0.0.1:${grpcPort}`, undefined),
      legate: await grpcRun(`127.0.0.1:${outbound}`, 'grpc'),
    },
    websocketRoundTrip: {
      direct: await wsRun(`ws://127.0.0.1:${wsPort}/`, undefined),
      legate: await wsRun(`ws://127.0.0.1:${outbound}/`, 'ws'),
    },
  }
  console.log(JSON.stringify(results, null, 2))
  child.kill('SIGTERM')
  await new Promise((r) => child.once('exit', r))
  server.forceShutdown()
  wss.close()
}

await main()
