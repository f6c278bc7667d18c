/**
 * `node --import tsx bench/profile.ts [--peers legate-node,node-undici] [--duration 5] [--path /100b] [--top 30]`
 *
 * Profiles Node peers under max load: starts the fixed upstream and each peer with
 * `--cpu-prof` (pinned as in the bench), runs wrk on the other core, stops the peer (SIGTERM,
 * which writes the profile), and prints where the time goes during the measured load only:
 * CPU µs per request by area (package or project folder, node internals, native code such as
 * the socket writes, GC) and the top functions by self time, side by side for the peers, as
 * Markdown. The .cpuprofile files are kept in the temp dir (open them in Chrome DevTools or
 * speedscope for a flame graph).
 * @module
 */
import { mkdtempSync, readdirSync, copyFileSync, mkdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { request } from 'undici'
import { start, stop, stopAll, installCleanup, waitForPort, which, sleep, PROXY_CORE, treeCpu } from './lib/proc.ts'
import { peers, nginxUpstreamConfig, PORT_BASE } from './peers.ts'
import { prepareLegate } from './lib/legate.ts'
import { runWrk, uploadScript } from './lib/wrk.ts'
import { summarizeProfile, type ProfileSummary } from './lib/cpuprofile.ts'

const ROOT = new URL('../', import.meta.url).pathname
const argv = process.argv.slice(2)
const opt = (n: string, d: string) => (argv.includes(`--${n}`) ? argv[argv.indexOf(`--${n}`) + 1]! : d)
const names = opt('peers', opt('peer', 'legate-node,node-undici')).split(',')
const durationS = Number(opt('duration', '5'))
const path = opt('path', '/100b')
// `--path /upload` POSTs 1 MiB bodies.
const script = path === '/upload' ? uploadScript(1024 * 1024) : undefined
const connections = path === '/100b' || path === '/64k' ? 32 : 16
const top = Number(opt('top', '25'))

interface Run {
  name: string
  rps: number
  cpuUsPerReq: number
  requestsInWindow: number
  summary: ProfileSummary
  file: string
}

async function profileOne(name: string, dir: string): Promise<Run> {
  const ctx = { dir, upstreamPort: PORT_BASE, upstreamUrl: `http://127.0.0.1:${PORT_BASE}`, legate: prepareLegate(dir, `http://127.0.0.1:${PORT_BASE}`) }
  const peer = peers().find((p) => p.name === name)
  if (!peer?.launch || peer.runtime !== 'node') throw new Error(`${name} is not a Node peer`)
  const profDir = join(dir, `prof-${name}`)
  mkdirSync(profDir)
  // legate peers start node behind `sh -c 'exec …'` (the access log to /dev/null) and take
  // node flags from LEGATE_BENCH_NODE_FLAGS; the others are node itself.
  const flags = ['--cpu-prof', `--cpu-prof-dir=${profDir}`]
  process.env.LEGATE_BENCH_NODE_FLAGS = flags.join(' ')
  const l = peer.launch(ctx)
  delete process.env.LEGATE_BENCH_NODE_FLAGS
  const t0 = Date.now()
  const proc = start(peer.name, l.cmd, l.cmd === 'sh' ? l.args : [...flags, ...l.args], { core: PROXY_CORE, env: l.env, cwd: ROOT })
  if (l.readyUrl) {
    for (let i = 0; i < 400; i++) {
      try {
        const r = await request(l.readyUrl)
        await r.body.dump()
        if (r.statusCode === 200) break
      } catch {}
      await sleep(50)
    }
  }
  await waitForPort(peer.port, proc)
  await runWrk({ url: `http://127.0.0.1:${peer.port}${path}`, connections, durationS: 1, host: peer.host, script })
  const c0 = treeCpu(proc.pid)
  const loadFrom = Date.now() - t0
  const w = await runWrk({ url: `http://127.0.0.1:${peer.port}${path}`, connections, durationS, host: peer.host, script })
  const loadTo = Date.now() - t0
  const cpu = (treeCpu(proc.pid) - c0) / w.requests
  await stop(proc, 10000)
  const file = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'))
  if (!file) throw new Error(`no profile written by ${name}: ${proc.log().slice(-500)}`)
  const keep = join(tmpdir(), `${name}-${Date.now()}.cpuprofile`)
  copyFileSync(join(profDir, file), keep)
  // The profile clock starts a little after spawn: trim the window's edges.
  const from = loadFrom + 300
  const to = loadTo - 300
  const summary = summarizeProfile(keep, 200, { fromMs: from, toMs: to })
  return { name, rps: w.rps, cpuUsPerReq: cpu, requestsInWindow: (w.rps * (to - from)) / 1000, summary, file: keep }
}

async function main() {
  installCleanup()
  const dir = mkdtempSync(join(tmpdir(), 'legate-profile-'))
  const up = start('upstream', which('nginx')!, ['-c', nginxUpstreamConfig(dir, PORT_BASE), '-p', join(dir, 'nginx-upstream')], { core: PROXY_CORE })
  await waitForPort(PORT_BASE, up)
  const runs: Run[] = []
  for (const n of names) runs.push(await profileOne(n, dir))
  await stop(up)
  const us = (r: Run, pct: number) => (pct / 100) * ((r.summary.totalMs * 1000) / r.requestsInWindow)
  console.log(`Profiled with \`node --cpu-prof\` under wrk (${connections} connections, ${path}, ${durationS} s); figures are µs of the profiled thread per request (the sampler slows the process, so they run above the bench's).\n`)
  console.log(`| | ${runs.map((r) => r.name).join(' | ')} |`)
  console.log(`|---|${runs.map(() => '--:').join('|')}|`)
  console.log(`| req/s under the profiler | ${runs.map((r) => Math.round(r.rps)).join(' | ')} |`)
  console.log(`| process CPU µs/req (all threads) | ${runs.map((r) => r.cpuUsPerReq.toFixed(1)).join(' | ')} |`)
  const areas = new Set<string>()
  for (const r of runs) for (const a of r.summary.byArea.slice(0, top)) if (a.area !== '(idle)') areas.add(a.area)
  const areaRows = [...areas].map((a) => ({ a, v: runs.map((r) => us(r, r.summary.byArea.find((x) => x.area === a)?.selfPct ?? 0)) })).sort((x, y) => y.v[0]! - x.v[0]!)
  for (const { a, v } of areaRows) if (v.some((x) => x >= 0.5)) console.log(`| ${a} | ${v.map((x) => x.toFixed(1)).join(' | ')} |`)
  for (const r of runs) {
    console.log(`\nTop functions by self time, ${r.name} (µs/req; profile ${r.file}):\n`)
    for (const f of r.summary.byFunction.filter((f) => f.name !== '(idle)').slice(0, top)) console.log(`- ${us(r, f.selfPct).toFixed(1)} \`${f.name}\``)
  }
}

main()
  .catch((e) => {
    console.error(e)
    process.exitCode = 1
  })
  .finally(() => stopAll())
