/**
 * `npm run bench [-- --scenario throughput,latency --rounds 3 --duration 3 --peers nginx,legate-node]`
 *
 * Starts one fixed upstream (nginx serving fixed bodies, or bench/upstream.ts with
 * `--upstream node`), then every available peer (bench/peers.ts), each pinned with the
 * upstream to the proxy core while the load generator runs pinned to the other core. For every
 * scenario: a warm-up per peer, then `rounds` rounds in which the peers take turns (so a
 * disturbance from outside hits every peer alike), then the median and spread per peer.
 * Writes bench/results/<date>.json and regenerates BENCHMARKS.md and docs/bench/*.svg
 * (`--no-report` to skip). Only 127.0.0.1; every process started is stopped at the end, also
 * on error and Ctrl-C.
 * @module
 */
import { mkdtempSync, mkdirSync, writeFileSync, rmSync, readFileSync, readdirSync } from 'node:fs'
import { tmpdir, cpus, totalmem, release } from 'node:os'
import { join } from 'node:path'
import { spawnSync } from 'node:child_process'
import { request } from 'undici'
import { start, stop, stopAll, installCleanup, waitForPort, portFree, tree, treeCpu, treeRssMb, treePeakRssMb, machineLoad, which, sleep, tcpTrouble, PROXY_CORE, LOAD_CORE, cores, type Started } from './lib/proc.ts'
import { runWrk, uploadScript } from './lib/wrk.ts'
import { median, spread, round } from './lib/stats.ts'
import { peers as allPeers, nginxUpstreamConfig, PORT_BASE, type Peer, type PeerContext } from './peers.ts'
import { prepareLegate, ambassadorAvailable } from './lib/legate.ts'
import type { OpenLoopResult } from './lib/open-loop.ts'
import { nativeOpenLoop } from './lib/openloop-native.ts'
import { runOpenLoopChild } from './lib/open-loop-child.ts'

const ROOT = new URL('../', import.meta.url).pathname

// ---- options --------------------------------------------------------------------------
const argv = process.argv.slice(2)
const opt = (name: string, dflt?: string) => {
  const i = argv.indexOf(`--${name}`)
  return i >= 0 ? argv[i + 1] : dflt
}
const flag = (name: string) => argv.includes(`--${name}`)
if (flag('help')) {
  console.log(`npm run bench -- [--scenario LIST] [--rounds N] [--duration S] [--warmup S] [--latency-warmup S] [--peers LIST]
  [--upstream nginx|node] [--rate 1000] [--generator native|node] [--no-realtime] [--realtime-peers]
  [--out FILE] [--no-report] [--label TEXT]
--no-realtime: the latency scenario's native generator runs as an ordinary process (default: SCHED_FIFO)
--realtime-peers: the peer under test and the upstream too, during their latency runs (see bench/run.ts)
--latency-warmup: seconds at twice the rate each peer serves before the latency rounds (default 5)
scenarios: ${'throughput,latency,body64k,body1m,upload1m,policy,scale,propagation'}`)
  process.exit(0)
}
const HTTP_SCENARIOS = ['throughput', 'latency', 'body64k', 'body1m', 'upload1m'] as const
const ALL = [...HTTP_SCENARIOS, 'policy', 'scale', 'propagation']
const scenarios = (opt('scenario') ?? ALL.join(',')).split(',').filter(Boolean)
for (const s of scenarios) if (!ALL.includes(s)) {
  console.error(`unknown scenario ${s}; known: ${ALL.join(', ')}`)
  process.exit(2)
}
const rounds = Number(opt('rounds', '3'))
const durationS = Number(opt('duration', '3'))
const warmupS = Number(opt('warmup', '1'))
const latencyWarmupS = Number(opt('latency-warmup', '5'))
const rate = Number(opt('rate', '1000'))
const peerFilter = opt('peers')?.split(',')
const upstreamKind = opt('upstream', which('nginx') ? 'nginx' : 'node')!

interface Sample {
  rps: number
  requests: number
  p50Ms: number
  p99Ms: number
  p999Ms?: number
  cpuUsPerReq: number
  upstreamCpuUsPerReq: number
  rssMb: number
  peakRssMb: number
  errors: number
  non2xx: number
  sendLagP50Ms?: number
  sendLagP99Ms?: number
  sendLagP999Ms?: number
  /** Latency scenario, native generator: requests that found every open connection busy. */
  waited?: number
  upstreamConnections?: number
  listenDrops?: number
  synRetrans?: number
  addedP50Ms?: number
  addedP99Ms?: number
  addedP999Ms?: number
}

export interface PeerResult {
  rounds: Sample[]
  median: Partial<Record<keyof Sample, number>>
  spread: Partial<Record<keyof Sample, number>>
}

const log = (s: string) => process.stderr.write(s + '\n')

function versions(): Record<string, string> {
  const v = (cmd: string, args: string[], re = /([\d.]+)/) => {
    const r = spawnSync(cmd, args, { encoding: 'utf8' })
    return re.exec((r.stdout ?? '') + (r.stderr ?? ''))?.[1] ?? 'n/a'
  }
  const pkg = (name: string) => {
    try {
      return JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')).version
    } catch {
      return 'n/a'
    }
  }
  return {
    node: process.versions.node,
    bun: v(join(ROOT, 'node_modules/.bin/bun'), ['--version']),
    deno: v(join(ROOT, 'node_modules/.bin/deno'), ['--version'], /deno ([\d.]+)/),
    nginx: v('nginx', ['-v'], /nginx\/([\d.]+)/),
    haproxy: v('haproxy', ['-v'], /version ([\d.]+)/),
    wrk: v('wrk', ['-v'], /wrk (\S+)/),
    undici: pkg('undici'),
    'http-proxy': pkg('http-proxy'),
    legate: JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version,
    'legate commit': spawnSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8', cwd: ROOT }).stdout.trim(),
  }
}

async function get(port: number, path: string, host?: string): Promise<{ status: number; length: number }> {
  const res = await request(`http://127.0.0.1:${port}${path}`, { headers: host ? { host } : {}, headersTimeout: 5000, bodyTimeout: 5000 })
  const buf = Buffer.from(await res.body.arrayBuffer())
  return { status: res.statusCode, length: buf.length }
}

async function waitReady(url: string, s: Started, timeoutMs = 20000) {
  const until = Date.now() + timeoutMs
  for (;;) {
    if (s.exited) throw new Error(`${s.name} exited:\n${s.log()}`)
    try {
      const res = await request(url, { headersTimeout: 1000 })
      await res.body.dump()
      if (res.statusCode === 200) return
    } catch {}
    if (Date.now() > until) throw new Error(`${url} not 200 after ${timeoutMs} ms:\n${s.log()}`)
    await sleep(100)
  }
}

function summarize(samples: Sample[]): PeerResult {
  const keys = Object.keys(samples[0] ?? {}) as (keyof Sample)[]
  const med: PeerResult['median'] = {}
  const spr: PeerResult['spread'] = {}
  for (const k of keys) {
    const xs = samples.map((s) => s[k]).filter((x): x is number => typeof x === 'number' && Number.isFinite(x))
    med[k] = round(median(xs), 3)
    spr[k] = round(spread(xs), 3)
  }
  return { rounds: samples, median: med, spread: spr }
}

// The latency scenario's generator: bench/lib/openloop.c (compiled on demand) unless
// `--generator node` or it cannot be compiled; then bench/lib/open-loop.ts (Node + undici),
// whose own send lag is larger than the 0.3 ms per hop to judge. Decided once, when the
// latency scenario starts, and written into the results (options.generator). The native one
// asks for SCHED_FIFO (--realtime; `--no-realtime` to not): on a machine shared with other work
// it keeps the generator's own send lag small; whether every run got it is recorded too.
let generator: { kind: 'native' | 'node'; bin?: string; note: string; realtime?: boolean } | undefined
function pickGenerator(): NonNullable<typeof generator> {
  if (generator) return generator
  if (opt('generator') === 'node') return (generator = { kind: 'node', note: 'bench/lib/open-loop.ts (Node + undici), asked for with --generator node' })
  const n = nativeOpenLoop()
  if (n.bin) return (generator = { kind: 'native', bin: n.bin, note: 'bench/lib/openloop.c (native, compiled with cc -O2)' })
  return (generator = { kind: 'node', note: `bench/lib/open-loop.ts (Node + undici): the native generator is unavailable: ${n.why}` })
}

// The latency scenario on a shared machine: other work on the proxy core delays a woken proxy
// or upstream by milliseconds, which swamps a 0.3 ms hop (direct's p99 was 2-4 ms with the
// machine 40-90% busy, 0.12-0.23 ms with the upstream SCHED_FIFO). With --realtime-peers the
// peer under test and the upstream run SCHED_FIFO for the length of their latency runs only,
// every thread at priority 1, and SCHED_OTHER again right after (needs chrt and root or
// CAP_SYS_NICE). Opt-in, because it changes how a multi-threaded runtime's threads share the
// core: with the main thread above its helpers (2 vs 1) bun-fetch and legate-bun livelocked
// at 100% CPU with most requests failing; at one priority Bun is fine, but node-undici and
// legate-node still livelocked in some rounds (errors, seconds of CPU): a thread that waits
// for another by spinning keeps the core under FIFO. Such a round shows as errors; its
// figures are not the hop's. Single-threaded peers (nginx, haproxy, the upstream) are safe.
const chrt = which('chrt')
let peersRealtime: boolean | undefined
function schedRealtime(pids: (number | undefined)[], on: boolean): void {
  if (!chrt || !flag('realtime-peers')) {
    peersRealtime = false
    return
  }
  let ok = true
  for (const pid of pids) {
    if (!pid) continue
    for (const p of tree(pid)) {
      let tids: string[] = []
      try {
        tids = readdirSync(`/proc/${p}/task`)
      } catch {
        continue // exited
      }
      for (const tid of tids) {
        const args = on ? ['-f', '-p', '1', tid] : ['-o', '-p', '0', tid]
        if (spawnSync(chrt, args).status !== 0 && on) ok = false
      }
    }
  }
  if (on) peersRealtime = (peersRealtime ?? true) && ok
}

async function runOpenLoop(url: string, host: string | undefined, seconds: number, warm: number, atRate = rate): Promise<OpenLoopResult> {
  const g = pickGenerator()
  const r = await runOpenLoopChild({ url, rate: atRate, durationS: seconds, warmupS: warm, host }, { node: g.kind === 'node', realtime: !flag('no-realtime') })
  if (g.kind === 'native') g.realtime = (g.realtime ?? true) && r.realtime === true
  return r
}

interface Running {
  peer: Peer
  proc?: Started
  port: number
}

async function main() {
  installCleanup()
  const started = new Date()
  const dir = mkdtempSync(join(tmpdir(), 'legate-bench-'))
  const loadBefore = await machineLoad(1000)
  log(`legate bench: ${scenarios.join(', ')}; ${rounds} rounds × ${durationS}s; cores: proxy+upstream ${PROXY_CORE}, load ${LOAD_CORE} (of ${cores}); machine busy ${loadBefore.busyPct}% (load ${loadBefore.loadavg1}) before start`)
  if (cores < 2) log('warning: one core only: proxy and load generator share it')
  if (!which('wrk')) log('warning: wrk not found (apt-get install wrk): the closed-loop scenarios are skipped')

  // ---- upstream --------------------------------------------------------------------------
  const upstreamPort = PORT_BASE
  for (const p of [upstreamPort]) if (!(await portFree(p))) throw new Error(`port ${p} is busy: is another bench running?`)
  let upstream: Started
  if (upstreamKind === 'nginx') {
    const conf = nginxUpstreamConfig(dir, upstreamPort)
    upstream = start('upstream(nginx)', which('nginx')!, ['-c', conf, '-p', join(dir, 'nginx-upstream')], { core: PROXY_CORE })
  } else {
    upstream = start('upstream(node)', process.execPath, ['--import', 'tsx', join(ROOT, 'bench/upstream.ts')], { core: PROXY_CORE, env: { PORT: String(upstreamPort) } })
  }
  await waitForPort(upstreamPort, upstream)
  const check = await get(upstreamPort, '/100b')
  if (check.status !== 200 || check.length !== 100) throw new Error(`upstream answers ${check.status} with ${check.length} bytes`)
  log(`upstream: ${upstreamKind} on 127.0.0.1:${upstreamPort}`)
  const ctx: PeerContext = { dir, upstreamPort, upstreamUrl: `http://127.0.0.1:${upstreamPort}` }

  const noAmbassador = ambassadorAvailable()
  if (noAmbassador) log(`legate: ${noAmbassador}`)
  else {
    try {
      ctx.legate = prepareLegate(dir, ctx.upstreamUrl)
    } catch (err) {
      log(`legate: could not prepare a signed config: ${(err as Error).message}`)
    }
  }

  // ---- peers -----------------------------------------------------------------------------
  const status: Record<string, string> = {}
  const running: Running[] = []
  for (const peer of allPeers()) {
    if (peerFilter && !peerFilter.includes(peer.name) && peer.name !== 'direct') continue
    const why = peer.missing(ctx)
    if (why) {
      log(`skip ${peer.name}: ${why}`)
      status[peer.name] = `skipped: ${why}`
      continue
    }
    if (!peer.launch) {
      running.push({ peer, port: upstreamPort })
      status[peer.name] = 'ok'
      continue
    }
    let proc: Started | undefined
    try {
      if (!(await portFree(peer.port))) throw new Error(`port ${peer.port} is busy`)
      const l = peer.launch(ctx)
      proc = start(peer.name, l.cmd, l.args, { core: PROXY_CORE, env: l.env, cwd: ROOT })
      if (l.readyUrl) await waitReady(l.readyUrl, proc)
      await waitForPort(peer.port, proc)
      for (const [path, len] of [['/100b', 100], ['/1m', 1024 * 1024]] as const) {
        const r = await get(peer.port, path, peer.host)
        if (r.status !== 200 || r.length !== len) throw new Error(`GET ${path} answered ${r.status} with ${r.length} bytes (want 200, ${len})`)
      }
      running.push({ peer, proc, port: peer.port })
      status[peer.name] = 'ok'
      log(`peer ${peer.name}: pid ${proc.pid}, 127.0.0.1:${peer.port}`)
    } catch (err) {
      const lines = (err as Error).message.split('\n').filter(Boolean)
      const msg = [lines[0], ...lines.slice(1).slice(-2)].join(' | ')
      log(`skip ${peer.name}: failed to start or to answer: ${msg}`)
      status[peer.name] = `skipped: ${msg}`
      if (proc) await stop(proc)
    }
  }

  const results: Record<string, Record<string, PeerResult>> = {}
  const extra: Record<string, unknown> = {}

  // ---- closed-loop and open-loop HTTP scenarios ------------------------------------------
  const wrkScenarios: Record<string, { path: string; connections: number; script?: string }> = {
    throughput: { path: '/100b', connections: 32 },
    body64k: { path: '/64k', connections: 32 },
    body1m: { path: '/1m', connections: 16 },
    upload1m: { path: '/upload', connections: 16, script: 'upload' },
  }
  const loadDuring: { loadavg1: number; busyPct: number; stealPct: number; at: string }[] = []
  const noteLoad = async (at: string) => loadDuring.push({ ...(await machineLoad(200)), at })
  for (const scenario of scenarios) {
    if (!(HTTP_SCENARIOS as readonly string[]).includes(scenario)) continue
    await noteLoad(`before ${scenario}`)
    if (scenario !== 'latency' && !which('wrk')) continue
    const samples: Record<string, Sample[]> = {}
    const measure = async (r: Running, seconds: number): Promise<Sample> => {
      const pid = r.proc?.pid
      if (r.proc?.exited) throw new Error(`${r.peer.name} exited:\n${r.proc.log()}`)
      const cpu0 = pid ? treeCpu(pid) : 0
      const up0 = treeCpu(upstream.pid)
      const acc0 = await upstreamAccepts()
      const tcp0 = tcpTrouble()
      let s: Omit<Sample, 'cpuUsPerReq' | 'upstreamCpuUsPerReq' | 'rssMb' | 'peakRssMb'>
      if (scenario === 'latency') {
        // The generator is a fresh process each run: 1 s at the same rate first warms its own
        // JIT and opens its connections, and is not recorded (else its start-up is the tail).
        schedRealtime([upstream.pid, pid], true)
        const o = await runOpenLoop(`http://127.0.0.1:${r.port}/100b`, r.peer.host, seconds, 1).finally(() => schedRealtime([upstream.pid, pid], false))
        s = { rps: o.rate, requests: o.sent, p50Ms: o.p50Ms, p99Ms: o.p99Ms, p999Ms: o.p999Ms, errors: o.errors, non2xx: o.non2xx, sendLagP50Ms: o.sendLagP50Ms, sendLagP99Ms: o.sendLagP99Ms, sendLagP999Ms: o.sendLagP999Ms, waited: o.waited }
      } else {
        const w = wrkScenarios[scenario]!
        const res = await runWrk({ url: `http://127.0.0.1:${r.port}${w.path}`, connections: w.connections, durationS: seconds, host: r.peer.host, script: w.script ? uploadScript(1024 * 1024) : undefined })
        s = { rps: res.rps, requests: res.requests, p50Ms: res.p50Ms, p99Ms: res.p99Ms, errors: res.errors, non2xx: res.non2xx }
      }
      const cpu1 = pid ? treeCpu(pid) : 0
      const up1 = treeCpu(upstream.pid)
      const acc1 = await upstreamAccepts()
      const tcp1 = tcpTrouble()
      const n = Math.max(1, s.requests)
      return {
        ...s,
        // New connections the upstream accepted during the run (keep-alive reuse check; nginx upstream only).
        upstreamConnections: acc0 !== undefined && acc1 !== undefined ? acc1 - acc0 - 1 : NaN,
        // Machine-wide: SYNs dropped by a full listen queue and SYN retransmits during the run
        // (non-zero means connections stalled for a second or more: a disturbed run).
        listenDrops: tcp1.listenDrops - tcp0.listenDrops,
        synRetrans: tcp1.synRetrans - tcp0.synRetrans,
        cpuUsPerReq: pid ? round((cpu1 - cpu0) / n, 2) : NaN,
        upstreamCpuUsPerReq: round((up1 - up0) / n, 2),
        rssMb: pid ? round(treeRssMb(pid), 1) : NaN,
        peakRssMb: pid ? round(treePeakRssMb(pid), 1) : NaN,
      }
    }
    const upstreamAccepts = async (): Promise<number | undefined> => {
      if (upstreamKind !== 'nginx') return undefined
      try {
        const r = await request(`http://127.0.0.1:${upstreamPort}/__status`, { reset: true }) // a fresh connection each time: exactly one per reading
        const m = /\s(\d+)\s+(\d+)\s+(\d+)\s*\nReading/.exec(await r.body.text())
        return m ? Number(m[1]) : undefined
      } catch {
        return undefined
      }
    }
    log(`\n== ${scenario} ==`)
    if (scenario === 'latency') log(`  generator: ${pickGenerator().note}`)
    const alive = running.filter((r) => !r.proc?.exited)
    for (const r of warmupS > 0 ? alive : []) {
      try {
        // The latency rounds measure a warm process: a JIT runtime fresh from its start still
        // compiles through its first ~10,000 requests (legate-bun's JITWorker took 150 ms of
        // the shared core over requests 6,000-11,000, whose p99 read 1.8-2.2 ms against
        // 0.44-0.83 in the seconds after; bench/analysis.md, session 7). So first twice the
        // rate for --latency-warmup seconds; a peer that just served the throughput rounds is
        // warm already, and this costs it nothing but the time.
        if (scenario === 'latency' && latencyWarmupS > 0) await runOpenLoop(`http://127.0.0.1:${r.port}/100b`, r.peer.host, latencyWarmupS, 0, rate * 2)
        await measure(r, warmupS)
      } catch (err) {
        log(`  ${r.peer.name}: warm-up failed: ${(err as Error).message.split('\n')[0]}`)
      }
    }
    for (let round_ = 1; round_ <= rounds; round_++) {
      for (const r of alive) {
        if (r.proc?.exited) continue
        try {
          const s = await measure(r, scenario === 'latency' ? Math.max(durationS, 5) : durationS)
          ;(samples[r.peer.name] ??= []).push(s)
          log(
            `  round ${round_} ${r.peer.name.padEnd(12)} ${scenario === 'latency' ? `p50 ${s.p50Ms.toFixed(3)} ms  p99 ${s.p99Ms.toFixed(3)} ms  p99.9 ${s.p999Ms?.toFixed(3)} ms  lag99 ${s.sendLagP99Ms?.toFixed(3)}${s.waited ? `  waited ${s.waited}` : ''}` : `${Math.round(s.rps)} req/s  p50 ${s.p50Ms} ms  p99 ${s.p99Ms} ms`}  cpu ${s.cpuUsPerReq} µs/req  rss ${s.rssMb} MB${Number.isFinite(s.upstreamConnections) ? `  upconn ${s.upstreamConnections}` : ''}${s.listenDrops || s.synRetrans ? `  TCP TROUBLE: ${s.listenDrops} listen drops, ${s.synRetrans} SYN retransmits` : ''}${s.errors + s.non2xx ? `  ERRORS ${s.errors} non2xx ${s.non2xx}` : ''}`,
          )
        } catch (err) {
          log(`  round ${round_} ${r.peer.name}: failed: ${(err as Error).message.split('\n').slice(0, 3).join(' | ')}`)
        }
      }
    }
    if (scenario === 'latency' && samples.direct) {
      // Added latency per round against direct's figure of the same round (the peers take
      // turns within a round, so this pairs runs made close together in time).
      for (const [name, xs] of Object.entries(samples)) {
        if (name === 'direct') continue
        xs.forEach((x, i) => {
          const d = samples.direct![Math.min(i, samples.direct!.length - 1)]!
          x.addedP50Ms = round(x.p50Ms - d.p50Ms, 4)
          x.addedP99Ms = round(x.p99Ms - d.p99Ms, 4)
          x.addedP999Ms = round((x.p999Ms ?? NaN) - (d.p999Ms ?? NaN), 4)
        })
      }
    }
    results[scenario] = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, summarize(v)]))
  }

  // ---- config scale and propagation (own modules; they start their own processes) --------
  if (scenarios.includes('policy')) {
    const { runPolicy } = await import('./policy.ts')
    extra.policy = await runPolicy({ dir, upstreamUrl: ctx.upstreamUrl, rounds, durationS, warmupS, log })
  }
  if (scenarios.includes('scale')) {
    const { runScale } = await import('./scale.ts')
    extra.scale = await runScale({ dir, upstreamUrl: ctx.upstreamUrl, upstreamPort, durationS, log })
  }
  if (scenarios.includes('propagation')) {
    const { runPropagation } = await import('./propagation.ts')
    extra.propagation = await runPropagation({ dir, upstreamUrl: ctx.upstreamUrl, log })
  }

  const loadAfter = await machineLoad(1000)
  for (const r of running) if (r.proc) await stop(r.proc)
  await stop(upstream)

  const cpuModel = cpus()[0]?.model ?? 'unknown'
  const out = {
    date: started.toISOString(),
    label: opt('label', ''),
    machine: { cpus: cores, cpuModel, memGiB: round(totalmem() / 2 ** 30, 1), kernel: release(), loadBefore, loadAfter, loadDuring },
    versions: versions(),
    options: { scenarios, rounds, durationS, warmupS, latencyWarmupS, rate, upstream: upstreamKind, proxyCore: PROXY_CORE, loadCore: LOAD_CORE, ...(generator ? { generator: generator.kind, generatorNote: generator.note, generatorRealtime: generator.realtime, peersRealtime } : {}) },
    peers: status,
    results,
    ...extra,
  }
  mkdirSync(join(ROOT, 'bench/results'), { recursive: true })
  const file = opt('out') ?? join(ROOT, 'bench/results', `${started.toISOString().replace(/[:]/g, '-').replace(/\..*/, '')}.json`)
  writeFileSync(file, JSON.stringify(out, null, 1) + '\n')
  log(`\nresults: ${file}`)
  if (!flag('no-report')) {
    const { writeReport } = await import('./report.ts')
    writeReport(file)
  }
  rmSync(dir, { recursive: true, force: true })
}

main()
  .catch(async (err) => {
    log(`bench failed: ${err instanceof Error ? err.stack : err}`)
    process.exitCode = 1
  })
  .finally(() => stopAll())
