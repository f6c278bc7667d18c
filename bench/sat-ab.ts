/**
 * Saturation-only A/B: the bare Node forwarder and legate builds side by side under wrk
 * (32 connections, 100-byte GET, proxy and upstream pinned to one core, wrk on the other),
 * taking turns round by round; prints per-round and median req/s and process CPU µs per
 * request, and each legate's ratio to bare. Shorter than bench/ab.ts (no fixed-rate phase),
 * so more rounds fit in a few minutes on a shared machine. The upstream is nginx, as in the
 * full bench (`npm run bench`), unless nginx is missing or `--upstream node`: a Node upstream
 * on the shared core takes ~25 µs of it per request and so narrows every ratio.
 *
 *   node --import tsx bench/sat-ab.ts [--legate 'name=path/to/legate.js [node flags]' ...] [--bare '' --bare '[forwarder.ts] [node flags]' ...] [--rounds 9] [--duration 4] [--log-level info] [--upstream nginx|node]
 * @module
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { installCleanup, which, start, stopAll, treeCpu, waitForPort, PROXY_CORE, sleep, type AbPeer as Peer } from './lib/proc.ts'
import { runWrk } from './lib/wrk.ts'
import { bareNodePeers, nodeLegatePeers, prepareLegate } from './lib/legate.ts'
import { nginxUpstreamConfig } from './peers.ts'

const { values } = parseArgs({
  options: {
    legate: { type: 'string', multiple: true, default: ['legate=bin/legate.js'] },
    /** The bare forwarder once per value: '' for node-undici.ts as it is, or `[forwarder.ts] [node flags]`. */
    bare: { type: 'string', multiple: true, default: [''] },
    rounds: { type: 'string', default: '9' },
    duration: { type: 'string', default: '4' },
    'log-level': { type: 'string', default: 'info' },
    upstream: { type: 'string', default: which('nginx') ? 'nginx' : 'node' },
  },
})
const ROOT = new URL('../', import.meta.url).pathname
const rounds = Number(values.rounds)
const duration = Number(values.duration)
const PORT = 19650

installCleanup()
const dir = mkdtempSync(join(tmpdir(), 'legate-sat-ab-'))
const upstreamUrl = `http://127.0.0.1:${PORT}`
const files = prepareLegate(dir, upstreamUrl)
const upstream =
  values.upstream === 'nginx'
    ? start('upstream', which('nginx')!, ['-c', nginxUpstreamConfig(dir, PORT), '-p', join(dir, 'nginx-upstream')], { core: PROXY_CORE })
    : start('upstream', process.execPath, ['--import', 'tsx', join(ROOT, 'bench/upstream.ts')], { core: PROXY_CORE, env: { PORT: String(PORT) } })
await waitForPort(PORT, upstream)

const peers: Peer[] = bareNodePeers(values.bare!, upstreamUrl, PORT + 1)
peers.push(...nodeLegatePeers(values.legate!, files, PORT + 10, values['log-level']!))

for (const peer of peers) {
  peer.proc = peer.launch()
  await waitForPort(peer.port, peer.proc)
  await sleep(500)
  await runWrk({ url: `http://127.0.0.1:${peer.port}/100b`, connections: 32, durationS: 3, host: peer.host })
}

const rows = new Map<string, { rps: number; cpuUs: number; ratio?: number }[]>()
for (let r = 0; r < rounds; r++) {
  // Peers take turns in a rotating order, so none is always first after a pause.
  const order = peers.map((_, i) => peers[(i + r) % peers.length]!)
  const round = new Map<string, { rps: number; cpuUs: number }>()
  for (const peer of order) {
    const c0 = treeCpu(peer.proc!.pid)
    const w = await runWrk({ url: `http://127.0.0.1:${peer.port}/100b`, connections: 32, durationS: duration, host: peer.host })
    round.set(peer.name, { rps: w.rps, cpuUs: (treeCpu(peer.proc!.pid) - c0) / w.requests })
    await sleep(200)
  }
  const bare = round.get(peers[0]!.name)!
  const line = [...round].map(([name, x]) => `${name} ${x.rps.toFixed(0)} req/s ${x.cpuUs.toFixed(1)} µs`).join(' | ')
  console.log(`round ${r + 1}: ${line}`)
  for (const [name, x] of round) (rows.get(name) ?? rows.set(name, []).get(name)!).push({ ...x, ratio: x.rps / bare.rps })
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}
// The machine is shared: other work only ever adds to a round's CPU per request, so the best
// quarter of the rounds is printed beside the median.
const quartile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) * q)]!
console.log(`\nover ${rounds} rounds (${values.upstream} upstream, wrk 32 connections, ${duration} s each; ratio: of the per-round req/s to bare's):`)
console.log(`  ${'peer'.padEnd(26)} ${'median req/s'.padStart(12)} ${'µs/req'.padStart(7)} ${'ratio'.padStart(6)} | ${'best-quarter req/s'.padStart(18)} ${'µs/req'.padStart(7)} ${'ratio'.padStart(6)}`)
for (const [name, rs] of rows) {
  const rps = rs.map((x) => x.rps)
  const cpu = rs.map((x) => x.cpuUs)
  const ratio = rs.map((x) => x.ratio!)
  console.log(
    `  ${name.padEnd(26)} ${median(rps).toFixed(0).padStart(12)} ${median(cpu).toFixed(1).padStart(7)} ${median(ratio).toFixed(3).padStart(6)} | ` +
      `${quartile(rps, 0.75).toFixed(0).padStart(18)} ${quartile(cpu, 0.25).toFixed(1).padStart(7)} ${quartile(ratio, 0.75).toFixed(3).padStart(6)}`,
  )
}
await stopAll()
process.exit(0)
