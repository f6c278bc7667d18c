/**
 * Quick side-by-side: legate's Node ambassador (routing, metrics and an access log line per
 * request) against the bare node:http + undici `Pool.stream` forwarder, same run, same
 * upstream. Proxies and upstream pinned to core 0, wrk to core 1; 100-byte GET, 32
 * connections. Runs alternate (bare, legate, bare, legate, …) so drift hits both alike.
 *
 *   node --import tsx bench/ambassador-quick.ts [--rounds 3] [--duration 10] [--log-level info] [--dist]
 *     [--legate-node-options=--max-semi-space-size=64]
 *
 * `--dist` adds legate run from the esbuild bundle (`npm run build`, dist/legate.js) as a
 * third peer (the first legate then runs the sources under tsx), and prints each legate's
 * start time (spawn to listening) and idle RSS.
 * @module
 */
import { existsSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { installCleanup, start, stdoutTo, stopAll, treeCpu, treeRssMb, waitForPort, PROXY_CORE, sleep, type Started } from './lib/proc.ts'
import { runWrk } from './lib/wrk.ts'
import { prepareLegate } from './lib/legate.ts'
import { AMBASSADOR_NODE_FLAGS } from '../worker/platforms/node/heap-tuning.ts'

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    duration: { type: 'string', default: '10' },
    'log-level': { type: 'string', default: 'info' },
    connections: { type: 'string', default: '32' },
    // Where legate's access log goes: a file (/dev/null) or a pipe read by this harness.
    'log-sink': { type: 'string', default: 'file' },
    dist: { type: 'boolean', default: false },
    // NODE_OPTIONS for the legate processes only, e.g. --max-semi-space-size=64.
    'legate-node-options': { type: 'string', default: '' },
  },
})
const rounds = Number(values.rounds)
const duration = Number(values.duration)
const connections = Number(values.connections)
const ROOT = new URL('../', import.meta.url).pathname
const PORTS = { upstream: 19500, bare: 19501, legate: 19502, admin: 19503, dist: 19504, distAdmin: 19505 }

installCleanup()
const dir = mkdtempSync(join(tmpdir(), 'legate-quick-'))
const upstreamUrl = `http://127.0.0.1:${PORTS.upstream}`
const files = prepareLegate(dir, upstreamUrl)
const tsx = ['--import', 'tsx']

const upstream = start('upstream', process.execPath, [...tsx, join(ROOT, 'bench/upstream.ts')], { core: PROXY_CORE, env: { PORT: String(PORTS.upstream) } })
await waitForPort(PORTS.upstream, upstream)

type Peer = { name: string; port: number; host?: string; launch: () => Started }
const legatePeer = (name: string, entry: string, port: number, admin: number, env: NodeJS.ProcessEnv = {}): Peer => ({
  name: values['legate-node-options'] ? `${name} [${values['legate-node-options']}]` : name,
  port,
  host: files.host,
  launch: () => {
    if (values['legate-node-options']) env = { ...env, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} ${values['legate-node-options']}`.trim() }
    const args = [...AMBASSADOR_NODE_FLAGS, entry, 'ambassador', '--config-file', files.configFile, '--mesh', files.mesh, '--trust', files.jwks, '--outbound', String(port), '--admin', String(admin), '--log-level', values['log-level']!]
    if (values['log-sink'] === 'pipe') return start('legate', process.execPath, args, { core: PROXY_CORE, env })
    const q = stdoutTo(process.execPath, args)
    return start('legate', q.cmd, q.args, { core: PROXY_CORE, env })
  },
})
const logLabel = `log ${values['log-level']} → ${values['log-sink']}`
const peers: Peer[] = [
  { name: 'bare node:http + undici', port: PORTS.bare, launch: () => start('bare', process.execPath, [...tsx, join(ROOT, 'bench/forwarders/node-undici.ts')], { core: PROXY_CORE, env: { PORT: String(PORTS.bare), UPSTREAM: upstreamUrl } }) },
  values.dist
    ? legatePeer(`legate tsx (${logLabel})`, join(ROOT, 'bin/legate.js'), PORTS.legate, PORTS.admin, { LEGATE_NO_DIST: '1' })
    : legatePeer(`legate (node, ${logLabel})`, join(ROOT, 'bin/legate.js'), PORTS.legate, PORTS.admin),
]
if (values.dist) {
  if (!existsSync(join(ROOT, 'dist/legate.js'))) throw new Error('--dist: run `npm run build` first')
  peers.push(legatePeer(`legate dist (${logLabel})`, join(ROOT, 'dist/legate.js'), PORTS.dist, PORTS.distAdmin))
}


const results: Record<string, Array<{ rps: number; cpuUs: number; p50: number; p99: number; rss: number; errors: number }>> = {}
for (const peer of peers) {
  const t0 = performance.now()
  const proc = peer.launch()
  ;(peer as Peer & { proc?: Started }).proc = proc
  await waitForPort(peer.port, proc)
  if (peer.name.startsWith('legate')) {
    await sleep(1000)
    console.log(`${peer.name}: listening ${(performance.now() - t0).toFixed(0)} ms after spawn, idle RSS ${treeRssMb(proc.pid).toFixed(0)} MB`)
  }
  // Warm up (JIT, pools) before measuring.
  await runWrk({ url: `http://127.0.0.1:${peer.port}/100b`, connections, durationS: 3, host: peer.host })
}
for (let r = 0; r < rounds; r++) {
  for (const peer of peers) {
    const proc = (peer as Peer & { proc?: Started }).proc!
    const cpu0 = treeCpu(proc.pid)
    const w = await runWrk({ url: `http://127.0.0.1:${peer.port}/100b`, connections, durationS: duration, host: peer.host })
    const cpu = treeCpu(proc.pid) - cpu0
    ;(results[peer.name] ??= []).push({ rps: w.rps, cpuUs: cpu / w.requests, p50: w.p50Ms, p99: w.p99Ms, rss: treeRssMb(proc.pid), errors: w.errors + w.non2xx })
    console.log(`round ${r + 1} ${peer.name.padEnd(30)} ${w.rps.toFixed(0).padStart(7)} req/s  ${(cpu / w.requests).toFixed(1)} µs/req  p50 ${w.p50Ms.toFixed(2)} ms  p99 ${w.p99Ms.toFixed(2)} ms  RSS ${treeRssMb(proc.pid).toFixed(0)} MB  errors ${w.errors + w.non2xx}`)
    await sleep(500)
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
console.log('\nmedians:')
const med: Record<string, number> = {}
for (const [name, rs] of Object.entries(results)) {
  med[name] = median(rs.map((x) => x.rps))
  console.log(`  ${name.padEnd(30)} ${med[name]!.toFixed(0).padStart(7)} req/s  ${median(rs.map((x) => x.cpuUs)).toFixed(1)} µs/req  p50 ${median(rs.map((x) => x.p50)).toFixed(2)} ms  p99 ${median(rs.map((x) => x.p99)).toFixed(2)} ms  RSS ${median(rs.map((x) => x.rss)).toFixed(0)} MB`)
}
const [bare, ...legates] = Object.values(med)
const names = Object.keys(med)
for (let i = 0; i < legates.length; i++) console.log(`${i === 0 ? '\n' : ''}${names[i + 1]} / bare = ${(legates[i]! / bare!).toFixed(3)}`)
await stopAll()
process.exit(0)
