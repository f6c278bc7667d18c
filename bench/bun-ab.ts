/**
 * A/B for the Bun request path: the bare Bun forwarder (bench/forwarders/bun-fetch.ts) and
 * one or more legate-bun builds, side by side against an nginx upstream, at a fixed request
 * rate (the native open-loop generator, bench/lib/openloop.c) and then at saturation (wrk).
 *
 *   node --import tsx bench/bun-ab.ts [--legate 'name=path/to/bin/legate.js [ENV=value …]' ...]
 *     [--pieces 'name=ip,signal,…' ...] [--rate 4000] [--rounds 5] [--duration 3]
 *     [--log-level silent|info] [--no-saturate]
 *
 * The Bun counterpart of bench/ab.ts. A before/after: `git worktree add /tmp/base HEAD
 * && ln -s $PWD/node_modules /tmp/base/`, then `--legate base=/tmp/base/bin/legate.js --legate
 * new=bin/legate.js` (bin/legate.js builds each tree's Bun bundle on its first start). With
 * `--log-level info` the access log goes to /dev/null, as in the full bench run. `--pieces`
 * adds the bare forwarder with some of legate's per-request pieces switched on
 * (bench/forwarders/bun-fetch-pieces.ts), to price them in a real server.
 *
 * On Bun, read the saturated figures first. At a fixed rate Bun's CPU per request is mostly
 * the wake-ups of its two threads (~120 µs/request for the bare forwarder at 4,000 req/s
 * against ~28 at saturation), which hides differences of a few µs. At saturation the CPU is
 * also split by thread: `main` (JavaScript, the server, the fetch calls) and `http` (Bun's
 * HTTP client thread, where fetch's requests are written and answers read).
 * Peers take turns round by round; the figures are medians over rounds.
 * @module
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { installCleanup, start, stdoutTo, stopAll, threadCpu, treeCpu, treeRssMb, waitForPort, which, PROXY_CORE, sleep, type AbPeer as Peer } from './lib/proc.ts'
import { runWrk } from './lib/wrk.ts'
import { prepareLegate } from './lib/legate.ts'
import { nginxUpstreamConfig } from './peers.ts'
import { nativeOpenLoop } from './lib/openloop-native.ts'
import { runOpenLoopChild } from './lib/open-loop-child.ts'
import { median } from './lib/stats.ts'

const { values } = parseArgs({
  options: {
    legate: { type: 'string', multiple: true, default: ['legate=bin/legate.js'] },
    pieces: { type: 'string', multiple: true, default: [] },
    rate: { type: 'string', default: '4000' },
    rounds: { type: 'string', default: '5' },
    duration: { type: 'string', default: '3' },
    'log-level': { type: 'string', default: 'silent' },
    'no-saturate': { type: 'boolean', default: false },
  },
})
const ROOT = new URL('../', import.meta.url).pathname
const BUN = join(ROOT, 'node_modules/.bin/bun')
const rate = Number(values.rate)
const rounds = Number(values.rounds)
const duration = Number(values.duration)
const saturate = !values['no-saturate']
const PORT = 19600

installCleanup()
const { bin: openloop, why } = nativeOpenLoop()
if (!openloop) throw new Error(`bench/bun-ab.ts needs the native open-loop generator: ${why}`)
const dir = mkdtempSync(join(tmpdir(), 'legate-bun-ab-'))
const upstreamUrl = `http://127.0.0.1:${PORT}`
const upstream = start('upstream(nginx)', which('nginx')!, ['-c', nginxUpstreamConfig(dir, PORT), '-p', join(dir, 'nginx-upstream')], { core: PROXY_CORE })
await waitForPort(PORT, upstream)
const files = prepareLegate(dir, upstreamUrl)

const peers: Peer[] = [
  {
    name: 'bun-fetch',
    port: PORT + 1,
    launch() {
      return start(this.name, BUN, [join(ROOT, 'bench/forwarders/bun-fetch.ts')], { core: PROXY_CORE, env: { PORT: String(this.port), UPSTREAM: upstreamUrl } })
    },
  },
]
for (const [i, spec] of values.pieces!.entries()) {
  const [name, list = ''] = spec.split(/=(.*)/s)
  const port = PORT + 2 + i
  peers.push({
    name: name!,
    port,
    launch() {
      return start(this.name, BUN, [join(ROOT, 'bench/forwarders/bun-fetch-pieces.ts')], { core: PROXY_CORE, env: { PORT: String(port), UPSTREAM: upstreamUrl, PIECES: list } })
    },
  })
}
for (const [i, spec] of values.legate!.entries()) {
  const eq = spec.indexOf('=')
  const name = eq > 0 ? spec.slice(0, eq) : `legate ${i + 1}`
  const [path, ...words] = (eq > 0 ? spec.slice(eq + 1) : spec).split(' ').filter(Boolean)
  const env = Object.fromEntries(words.map((w) => w.split(/=(.*)/s).slice(0, 2) as [string, string]))
  const port = PORT + 10 + 3 * i
  peers.push({
    name,
    port,
    host: files.host,
    launch() {
      const args = [resolve(ROOT, path!), 'ambassador', '--config-file', files.configFile, '--mesh', files.mesh, '--trust', files.jwks, '--outbound', String(port), '--admin', String(port + 1), '--log-level', values['log-level']!]
      const q = stdoutTo(BUN, args)
      return start(name, q.cmd, q.args, { core: PROXY_CORE, env, cwd: ROOT })
    },
  })
}

for (const peer of peers) {
  peer.proc = peer.launch()
  await waitForPort(peer.port, peer.proc, 30000)
  await sleep(700)
  await runWrk({ url: `http://127.0.0.1:${peer.port}/100b`, connections: 32, durationS: 2, host: peer.host })
}

type Row = { cpuUs: number; p50: number; p99: number; rss: number; rps?: number; satCpuUs?: number; mainUs?: number; httpUs?: number }
const rows = new Map<string, Row[]>()
for (let r = 0; r < rounds; r++) {
  for (const peer of peers) {
    const pid = peer.proc!.pid
    const cpu0 = treeCpu(pid)
    const o = await runOpenLoopChild({ url: `http://127.0.0.1:${peer.port}/100b`, rate, durationS: duration, warmupS: 0.5, connections: 64, host: peer.host })
    const cpuUs = (treeCpu(pid) - cpu0) / (o.ok + o.non2xx)
    const row: Row = { cpuUs, p50: o.p50Ms, p99: o.p99Ms, rss: treeRssMb(pid) }
    if (saturate) {
      const c0 = treeCpu(pid)
      const t0 = threadCpu(pid)
      const w = await runWrk({ url: `http://127.0.0.1:${peer.port}/100b`, connections: 32, durationS: duration, host: peer.host })
      const t1 = threadCpu(pid)
      row.rps = w.rps
      row.satCpuUs = (treeCpu(pid) - c0) / w.requests
      const of = (thread: string) => ((t1.get(thread) ?? 0) - (t0.get(thread) ?? 0)) / w.requests
      row.mainUs = of('main')
      row.httpUs = of('HTTP Client')
    }
    ;(rows.get(peer.name) ?? rows.set(peer.name, []).get(peer.name)!).push(row)
    const errors = o.errors ? ` ERRORS ${o.errors}` : ''
    console.log(`round ${r + 1} ${peer.name.padEnd(14)} at ${rate}/s: ${cpuUs.toFixed(1)} µs/req p50 ${o.p50Ms.toFixed(3)} p99 ${o.p99Ms.toFixed(3)} ms${errors}` + (row.rps ? ` | saturated ${row.rps.toFixed(0)} req/s ${row.satCpuUs!.toFixed(1)} µs/req (main ${row.mainUs!.toFixed(1)}, http ${row.httpUs!.toFixed(1)})` : ''))
    await sleep(300)
  }
}

const bare = rows.get(peers[0]!.name)!
const bareCpu = median(bare.map((x) => x.cpuUs))
const bareRps = saturate ? median(bare.map((x) => x.rps!)) : 0
console.log(`\nmedians over ${rounds} rounds (fixed ${rate} req/s for ${duration} s, then wrk 32 connections; log ${values['log-level']}):`)
for (const [name, rs] of rows) {
  const cpu = median(rs.map((x) => x.cpuUs))
  let line = `  ${name.padEnd(14)} ${cpu.toFixed(1).padStart(6)} µs/req (×${(bareCpu / cpu).toFixed(3)} bare)  p50 ${median(rs.map((x) => x.p50)).toFixed(3)} p99 ${median(rs.map((x) => x.p99)).toFixed(3)} ms  RSS ${median(rs.map((x) => x.rss)).toFixed(0)} MB`
  if (saturate) {
    const rps = median(rs.map((x) => x.rps!))
    line += ` | ${rps.toFixed(0)} req/s (×${(rps / bareRps).toFixed(3)} bare) ${median(rs.map((x) => x.satCpuUs!)).toFixed(1)} µs/req (main ${median(rs.map((x) => x.mainUs!)).toFixed(1)}, http ${median(rs.map((x) => x.httpUs!)).toFixed(1)})`
  }
  console.log(line)
}
await stopAll()
process.exit(0)
