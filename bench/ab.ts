/**
 * A/B for the request path: the bare Node forwarder and one or more legate builds, side by
 * side, at a fixed request rate (open loop, bench/lib/openloop.c) and then at saturation (wrk).
 *
 *   node --import tsx bench/ab.ts [--legate 'name=path/to/legate.js [node flags]' ...] [--bare '' --bare '[forwarder.ts] [node flags]' ...] [--rate 4000] [--rounds 5] [--duration 4] [--log-level info] [--no-saturate]
 *
 * Why a fixed rate: at saturation a faster process batches more requests per event-loop
 * turn, and on a machine shared with other work the req/s of one run swing by ±30%. At a
 * fixed rate every peer handles the same arrivals, so CPU µs per request (utime + stime of
 * the process ÷ requests answered) compares builds, e.g. the last commit's bundle against the
 * working tree's: `git worktree add /tmp/base HEAD~3 && (cd /tmp/base && ln -s $PWD/node_modules
 * && node scripts/build.js)`, then `--legate base=/tmp/base/dist/legate.js --legate new=dist/legate.js`.
 * Peers take turns round by round; the figures are medians over rounds.
 * @module
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { installCleanup, start, stopAll, treeCpu, treeRssMb, waitForPort, PROXY_CORE, sleep, type AbPeer as Peer } from './lib/proc.ts'
import { runWrk } from './lib/wrk.ts'
import { bareNodePeers, nodeLegatePeers, prepareLegate } from './lib/legate.ts'
import { nativeOpenLoop } from './lib/openloop-native.ts'
import { runOpenLoopChild } from './lib/open-loop-child.ts'
import type { OpenLoopResult } from './lib/open-loop.ts'

const { values } = parseArgs({
  options: {
    legate: { type: 'string', multiple: true, default: ['legate=bin/legate.js'] },
    /** The bare forwarder once per value: '' for node-undici.ts as it is, or `[forwarder.ts] [node flags]`. */
    bare: { type: 'string', multiple: true, default: [''] },
    rate: { type: 'string', default: '4000' },
    rounds: { type: 'string', default: '5' },
    duration: { type: 'string', default: '4' },
    'log-level': { type: 'string', default: 'info' },
    saturate: { type: 'boolean', default: true },
    'no-saturate': { type: 'boolean', default: false },
  },
})
const ROOT = new URL('../', import.meta.url).pathname
const rate = Number(values.rate)
const rounds = Number(values.rounds)
const duration = Number(values.duration)
const PORT = 19600
const saturate = values.saturate && !values['no-saturate']

installCleanup()
const dir = mkdtempSync(join(tmpdir(), 'legate-ab-'))
const upstreamUrl = `http://127.0.0.1:${PORT}`
const files = prepareLegate(dir, upstreamUrl)
const tsx = ['--import', 'tsx']
const { bin: openloop, why } = nativeOpenLoop()
if (!openloop) throw new Error(`bench/ab.ts needs the native open-loop generator: ${why}`)

const upstream = start('upstream', process.execPath, [...tsx, join(ROOT, 'bench/upstream.ts')], { core: PROXY_CORE, env: { PORT: String(PORT) } })
await waitForPort(PORT, upstream)

const peers: Peer[] = bareNodePeers(values.bare!, upstreamUrl, PORT + 1)
peers.push(...nodeLegatePeers(values.legate!, files, PORT + 10, values['log-level']!))

const fixedRate = (peer: Peer, seconds: number): Promise<OpenLoopResult> =>
  runOpenLoopChild({ url: `http://127.0.0.1:${peer.port}/100b`, rate, durationS: seconds, warmupS: 0.5, connections: 64, host: peer.host })

for (const peer of peers) {
  peer.proc = peer.launch()
  await waitForPort(peer.port, peer.proc)
  await sleep(500)
  await runWrk({ url: `http://127.0.0.1:${peer.port}/100b`, connections: 32, durationS: 2, host: peer.host })
}

type Row = { cpuUs: number; p50: number; p99: number; rss: number; rps?: number; satCpuUs?: number }
const rows = new Map<string, Row[]>()
for (let r = 0; r < rounds; r++) {
  for (const peer of peers) {
    const pid = peer.proc!.pid
    const cpu0 = treeCpu(pid)
    const o = await fixedRate(peer, duration)
    const cpuUs = (treeCpu(pid) - cpu0) / (o.ok + o.non2xx)
    const row: Row = { cpuUs, p50: o.p50Ms, p99: o.p99Ms, rss: treeRssMb(pid) }
    if (saturate) {
      const c0 = treeCpu(pid)
      const w = await runWrk({ url: `http://127.0.0.1:${peer.port}/100b`, connections: 32, durationS: duration, host: peer.host })
      row.rps = w.rps
      row.satCpuUs = (treeCpu(pid) - c0) / w.requests
    }
    ;(rows.get(peer.name) ?? rows.set(peer.name, []).get(peer.name)!).push(row)
    console.log(`round ${r + 1} ${peer.name.padEnd(26)} at ${rate}/s: ${cpuUs.toFixed(1)} µs/req p50 ${o.p50Ms.toFixed(3)} p99 ${o.p99Ms.toFixed(3)} ms` + (row.rps ? ` | saturated ${row.rps.toFixed(0)} req/s ${row.satCpuUs!.toFixed(1)} µs/req` : ''))
    await sleep(300)
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const bare = rows.get(peers[0]!.name)!
const bareCpu = median(bare.map((x) => x.cpuUs))
const bareRps = saturate ? median(bare.map((x) => x.rps!)) : 0
console.log(`\nmedians over ${rounds} rounds (fixed ${rate} req/s for ${duration} s, then wrk 32 connections):`)
for (const [name, rs] of rows) {
  const cpu = median(rs.map((x) => x.cpuUs))
  let line = `  ${name.padEnd(26)} ${cpu.toFixed(1).padStart(6)} µs/req (×${(bareCpu / cpu).toFixed(3)} bare)  p50 ${median(rs.map((x) => x.p50)).toFixed(3)} p99 ${median(rs.map((x) => x.p99)).toFixed(3)} ms  RSS ${median(rs.map((x) => x.rss)).toFixed(0)} MB`
  if (saturate) {
    const rps = median(rs.map((x) => x.rps!))
    line += ` | ${rps.toFixed(0)} req/s (×${(rps / bareRps).toFixed(3)} bare) ${median(rs.map((x) => x.satCpuUs!)).toFixed(1)} µs/req`
  }
  console.log(line)
}
await stopAll()
process.exit(0)
