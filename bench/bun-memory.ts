/**
 * legate on Bun against the bare Bun forwarder (and nginx), side by side in one run: idle RSS,
 * RSS at a fixed 1,000 req/s (open loop), req/s, CPU µs per request and RSS under full load
 * (wrk, 32 keep-alive connections, 100 B GET), and optionally a soak (wrk for a long run,
 * RSS sampled every few seconds). Proxies and the upstream (nginx) are pinned to core 0, the
 * load generators to core 1; in every round the peers take turns; figures are medians.
 *
 *   node --import tsx bench/bun-memory.ts [--peers bun-fetch,legate-bun,nginx] [--rounds 3]
 *     [--duration 5] [--rate 1000] [--rate-duration 5] [--soak 60] [--soak-log FILE]
 *     [--variant 'name=BUN FLAGS|ENV=V …'] [--entry name=FILE] [--base DIR]
 *
 * Peers: bun-fetch (bench/forwarders/bun-fetch.ts), nginx, legate-bun (`bun bin/legate.js
 * ambassador`, log level silent), and any `--variant name=flags` (legate-bun started with those
 * Bun flags, e.g. `--variant smol=--smol`; `ENV=value` words set the environment instead, and
 * a word ending in .js/.ts is the entry instead of bin/legate.js),
 * and any `--entry name=FILE` (legate's CLI from another file, e.g. a `bun build` bundle).
 * `--base DIR` adds `legate-bun@base`, legate from another checkout (e.g. `git archive` of an
 * earlier commit with node_modules linked), for before/after figures from the same run.
 * `--soak S` runs, after the rounds, wrk for S seconds against each legate peer (and bun-fetch)
 * and prints RSS every 5 s; `--soak-log FILE` repeats the soak with the access log at info
 * written to FILE (stdout redirected).
 * @module
 */
import { mkdtempSync, openSync, closeSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { request } from 'undici'
import { installCleanup, start, stdoutTo, stop, stopAll, treeCpu, treeRssMb, treePeakRssMb, waitForPort, sleep, portFree, which, PROXY_CORE, type Started } from './lib/proc.ts'
import { runWrk } from './lib/wrk.ts'
import { prepareLegate } from './lib/legate.ts'
import { peers as benchPeers, nginxUpstreamConfig } from './peers.ts'
import { median } from './lib/stats.ts'
import { runOpenLoopChild } from './lib/open-loop-child.ts'

const { values } = parseArgs({
  options: {
    peers: { type: 'string', default: 'bun-fetch,legate-bun,nginx' },
    rounds: { type: 'string', default: '3' },
    duration: { type: 'string', default: '5' },
    rate: { type: 'string', default: '1000' },
    'rate-duration': { type: 'string', default: '5' },
    connections: { type: 'string', default: '32' },
    soak: { type: 'string', default: '0' },
    'soak-log': { type: 'string' },
    variant: { type: 'string', multiple: true, default: [] },
    entry: { type: 'string', multiple: true, default: [] },
    base: { type: 'string' },
    'no-rate': { type: 'boolean', default: false },
  },
})
const ROOT = new URL('../', import.meta.url).pathname
const BUN = join(ROOT, 'node_modules/.bin/bun')
const rounds = Number(values.rounds)
const duration = Number(values.duration)
const rate = Number(values.rate)
const rateDuration = Number(values['rate-duration'])
const connections = Number(values.connections)
const soak = Number(values.soak)
const PORT0 = 19600

installCleanup()
const dir = mkdtempSync(join(tmpdir(), 'legate-bun-mem-'))
const upstreamPort = PORT0
const upstreamUrl = `http://127.0.0.1:${upstreamPort}`
if (!(await portFree(upstreamPort))) throw new Error(`port ${upstreamPort} is busy`)
const upstream = start('upstream(nginx)', which('nginx')!, ['-c', nginxUpstreamConfig(dir, upstreamPort), '-p', join(dir, 'nginx-upstream')], { core: PROXY_CORE })
await waitForPort(upstreamPort, upstream)
const files = prepareLegate(dir, upstreamUrl)

interface PeerDef {
  name: string
  port: number
  host?: string
  ready?: string
  launch(logLevel?: string, logFile?: string): Started
}
let nextPort = PORT0 + 1
const legateDef = (name: string, entry: string, bunFlags: string[], env: Record<string, string> = {}): PeerDef => {
  const port = nextPort
  nextPort += 3
  return {
    name,
    port,
    host: files.host,
    ready: `http://127.0.0.1:${port + 1}/readyz`,
    launch(logLevel = 'silent', logFile) {
      const args = [...bunFlags, entry, 'ambassador', '--config-file', files.configFile, '--mesh', files.mesh, '--trust', files.jwks, '--outbound', String(port), '--admin', String(port + 1), '--inbound', String(port + 2)]
      const e = { ...env, LEGATE_LOG_LEVEL: logLevel }
      if (!logFile) return start(name, BUN, args, { core: PROXY_CORE, env: e, cwd: ROOT })
      const q = stdoutTo(BUN, args, logFile)
      return start(name, q.cmd, q.args, { core: PROXY_CORE, env: e, cwd: ROOT })
    },
  }
}
const defs: PeerDef[] = []
for (const name of values.peers!.split(',').filter(Boolean)) {
  if (name === 'legate-bun') defs.push(legateDef(name, join(ROOT, 'bin/legate.js'), []))
  else if (name === 'bun-fetch' || name === 'nginx') {
    const p = benchPeers().find((x) => x.name === name)!
    const port = nextPort++
    defs.push({
      name,
      port,
      launch() {
        const l = p.launch!.call({ ...p, port }, { dir, upstreamPort, upstreamUrl })
        return start(name, l.cmd, l.args, { core: PROXY_CORE, env: l.env, cwd: ROOT })
      },
    })
  } else throw new Error(`unknown peer ${name}`)
}
for (const v of values.variant!) {
  const [name, spec = ''] = v.split(/=(.*)/s)
  const words = spec.split(' ').filter(Boolean)
  const env = Object.fromEntries(words.filter((w) => /^[A-Za-z_][A-Za-z0-9_]*=/.test(w)).map((w) => w.split(/=(.*)/s).slice(0, 2) as [string, string]))
  const entry = words.find((w) => /\.[mc]?[jt]s$/.test(w))
  const flags = words.filter((w) => !/^[A-Za-z_][A-Za-z0-9_]*=/.test(w) && w !== entry)
  defs.push(legateDef(`legate-bun+${name}`, entry ?? join(ROOT, 'bin/legate.js'), flags, env))
}
for (const v of values.entry!) {
  const [name, path = ''] = v.split(/=(.*)/s)
  defs.push(legateDef(`legate-bun:${name}`, path, []))
}
if (values.base) defs.push(legateDef('legate-bun@base', join(values.base, 'bin/legate.js'), []))

async function get(port: number, path: string, host?: string) {
  const res = await request(`http://127.0.0.1:${port}${path}`, { headers: host ? { host } : {}, headersTimeout: 5000, bodyTimeout: 5000 })
  return { status: res.statusCode, length: Buffer.from(await res.body.arrayBuffer()).length }
}
async function launch(d: PeerDef, logLevel?: string, logFile?: string): Promise<Started> {
  const t0 = Date.now()
  const proc = d.launch(logLevel, logFile)
  for (;;) {
    if (proc.exited) throw new Error(`${d.name} exited:\n${proc.log()}`)
    try {
      const r = await get(d.ready ? d.port + 1 : d.port, d.ready ? '/readyz' : '/100b')
      if (r.status === 200) break
    } catch {}
    if (Date.now() - t0 > 20000) throw new Error(`${d.name} not ready:\n${proc.log()}`)
    await sleep(50)
  }
  const startMs = Date.now() - t0
  // As bench/run.ts does at start: one 100 B and one 1 MiB response through the peer.
  for (const [path, len] of [['/100b', 100], ['/1m', 1024 * 1024]] as const) {
    const r = await get(d.port, path, d.host)
    if (r.status !== 200 || r.length !== len) throw new Error(`${d.name}: GET ${path} → ${r.status}, ${r.length} bytes`)
  }
  ;(proc as Started & { startMs?: number }).startMs = startMs
  return proc
}


/** Runs `work` while sampling the RSS of `pid` every `everyMs`; returns the samples. */
async function sampled<T>(pid: number, everyMs: number, work: () => Promise<T>): Promise<{ result: T; rss: number[] }> {
  const rss: number[] = []
  const timer = setInterval(() => rss.push(treeRssMb(pid)), everyMs)
  try {
    const result = await work()
    rss.push(treeRssMb(pid))
    return { result, rss }
  } finally {
    clearInterval(timer)
  }
}

const r1 = (n: number) => Math.round(n * 10) / 10
const log = (s: string) => process.stdout.write(s + '\n')

try {
  const procs = new Map<string, Started>()
  const table: Record<string, Record<string, number[]>> = {}
  const note = (peer: string, key: string, v: number) => ((table[peer] ??= {})[key] ??= []).push(v)
  for (const d of defs) {
    const p = await launch(d)
    procs.set(d.name, p)
    log(`${d.name}: pid ${p.pid} on 127.0.0.1:${d.port}, ready after ${(p as Started & { startMs?: number }).startMs} ms`)
  }
  await sleep(1000)
  for (const d of defs) note(d.name, 'idleRss', treeRssMb(procs.get(d.name)!.pid))

  if (!values['no-rate']) {
    log(`\n== ${rate} req/s open loop, ${rateDuration} s per run ==`)
    for (let round = 0; round <= rounds; round++) {
      for (const d of defs) {
        const pid = procs.get(d.name)!.pid
        const c0 = treeCpu(pid)
        const { result: o, rss } = await sampled(pid, 500, () => runOpenLoopChild({ url: `http://127.0.0.1:${d.port}/100b`, host: d.host, rate, durationS: round === 0 ? 1 : rateDuration, warmupS: 1 }, { node: true }))
        const cpu = (treeCpu(pid) - c0) / Math.max(1, o.sent)
        if (round === 0) continue // warm-up
        note(d.name, 'rateRss', rss[rss.length - 1]!)
        note(d.name, 'rateRssMax', Math.max(...rss))
        note(d.name, 'rateCpu', cpu)
        log(`  round ${round} ${d.name.padEnd(22)} rss ${r1(rss[rss.length - 1]!)} MB (max ${r1(Math.max(...rss))})  cpu ${r1(cpu)} µs/req  p99 ${o.p99Ms.toFixed(3)} ms${o.errors + o.non2xx ? `  ERRORS ${o.errors}/${o.non2xx}` : ''}`)
      }
    }
    for (const d of defs) note(d.name, 'ratePeak', treePeakRssMb(procs.get(d.name)!.pid))
  }

  log(`\n== full load: wrk -c${connections}, ${duration} s per run, 100 B GET ==`)
  for (let round = 0; round <= rounds; round++) {
    for (const d of defs) {
      const pid = procs.get(d.name)!.pid
      const c0 = treeCpu(pid)
      const { result: w, rss } = await sampled(pid, 500, () => runWrk({ url: `http://127.0.0.1:${d.port}/100b`, connections, durationS: round === 0 ? 1 : duration, host: d.host }))
      const cpu = (treeCpu(pid) - c0) / Math.max(1, w.requests)
      if (round === 0) continue
      note(d.name, 'rps', w.rps)
      note(d.name, 'cpu', cpu)
      note(d.name, 'loadRss', rss[rss.length - 1]!)
      note(d.name, 'loadRssMax', Math.max(...rss))
      log(`  round ${round} ${d.name.padEnd(22)} ${Math.round(w.rps)} req/s  cpu ${r1(cpu)} µs/req  rss ${r1(rss[rss.length - 1]!)} MB (max ${r1(Math.max(...rss))})  p99 ${w.p99Ms} ms${w.errors + w.non2xx ? `  ERRORS ${w.errors}/${w.non2xx}` : ''}`)
    }
  }
  for (const d of defs) note(d.name, 'peak', treePeakRssMb(procs.get(d.name)!.pid))

  const m = (peer: string, key: string) => median(table[peer]?.[key] ?? [])
  const ref = (name: string) => defs.find((d) => d.name === name)
  log('\n== medians ==')
  log(`${'peer'.padEnd(22)} ${'idle MB'.padStart(8)} ${'@rate MB'.padStart(9)} ${'max'.padStart(6)} ${'µs/req'.padStart(7)} | ${'req/s'.padStart(7)} ${'× nginx'.padStart(8)} ${'× bun'.padStart(6)} ${'µs/req'.padStart(7)} ${'load MB'.padStart(8)} ${'max'.padStart(6)} ${'peak'.padStart(6)}`)
  for (const d of defs) {
    const rps = m(d.name, 'rps')
    log(
      `${d.name.padEnd(22)} ${r1(m(d.name, 'idleRss')).toFixed(1).padStart(8)} ${r1(m(d.name, 'rateRss')).toFixed(1).padStart(9)} ${r1(m(d.name, 'rateRssMax')).toFixed(1).padStart(6)} ${r1(m(d.name, 'rateCpu')).toFixed(1).padStart(7)} | ${String(Math.round(rps)).padStart(7)} ${(ref('nginx') ? (rps / m('nginx', 'rps')).toFixed(2) : '–').padStart(8)} ${(ref('bun-fetch') ? (rps / m('bun-fetch', 'rps')).toFixed(2) : '–').padStart(6)} ${r1(m(d.name, 'cpu')).toFixed(1).padStart(7)} ${r1(m(d.name, 'loadRss')).toFixed(1).padStart(8)} ${r1(m(d.name, 'loadRssMax')).toFixed(1).padStart(6)} ${r1(m(d.name, 'peak')).toFixed(1).padStart(6)}`,
    )
  }

  if (soak > 0) {
    const soakOne = async (d: PeerDef, proc: Started, label: string) => {
      const pid = proc.pid
      const c0 = treeCpu(pid)
      const { result: w, rss } = await sampled(pid, 5000, () => runWrk({ url: `http://127.0.0.1:${d.port}/100b`, connections, durationS: soak, host: d.host, timeoutS: 10 }))
      await sleep(5000)
      rss.push(treeRssMb(pid))
      log(`  ${label.padEnd(34)} ${w.requests} requests, ${Math.round(w.rps)} req/s, ${r1((treeCpu(pid) - c0) / Math.max(1, w.requests))} µs/req; RSS every 5 s: ${rss.map((x) => Math.round(x)).join(' ')} MB (last: 5 s after)${w.errors + w.non2xx ? `  ERRORS ${w.errors}/${w.non2xx}` : ''}`)
    }
    log(`\n== soak: wrk -c${connections} for ${soak} s, RSS every 5 s ==`)
    for (const d of defs) if (d.name !== 'nginx') await soakOne(d, procs.get(d.name)!, d.name)
    if (values['soak-log']) {
      for (const d of defs) {
        if (!d.ready) continue
        await stop(procs.get(d.name)!)
        const logFile = `${values['soak-log']}.${d.name}`
        rmSync(logFile, { force: true })
        closeSync(openSync(logFile, 'w'))
        const p = await launch(d, 'info', logFile)
        procs.set(d.name, p)
        await sleep(1000)
        await soakOne(d, p, `${d.name} (fresh, log info → file)`)
      }
    }
  }
} finally {
  await stopAll()
}
