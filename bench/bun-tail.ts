/**
 * The slow requests of a Bun forwarder at a fixed rate, one by one, with JavaScriptCore's GC
 * log beside them: which requests were late, by how much, in runs of how many, and how many
 * eden collections (and how long) fell in the same window.
 *
 *   node --import tsx bench/bun-tail.ts [--peer legate-bun|bun-fetch] [--rate 1000] [--duration 8]
 *     [--warmup 5] [--burst 0] [--bin path/to/bin/legate.js] [--env NAME=value …]
 *
 * nginx upstream and the peer pinned to core 0, the native open-loop generator
 * (bench/lib/openloop.c, SCHED_FIFO) on core 1 with `--samples`: a warm-up at twice the rate,
 * then the measured run. The peer runs with `BUN_JSC_logGC=1`; `--env` adds variables (a JSC
 * option as `BUN_JSC_<name>=value`, `LEGATE_LOG_LEVEL=warn`, …) and `--bin` runs legate from
 * another checkout; `--burst S` first saturates the peer for S seconds (wrk, 32 connections),
 * to see what it holds at the fixed rate after a burst. Prints one JSON line:
 * - `hist`: requests per latency bucket (ms, up to the bucket's bound), `over05`/`over1`;
 * - `stalls`: runs of consecutive requests over 0.5 ms (count, median of their worst);
 * - `edens`/`edenPauseP50Ms`/`edenPauseMaxMs`, `fulls`: collections during the measured run;
 * - `heapKbPerRequest`: JavaScript heap allocated per request (each collection's heap at its
 *   start minus the previous one's at its end, summed; JavaScriptCore's block accounting adds
 *   a little per collection, so compare it only at the same rate);
 * - `preemptionsPerRequest`: the main thread's nonvoluntary context switches per request;
 * - `rssIdleMb`/`rssMb`: after start, and at the end of the run; `rssFileMb`: how much of the
 *   latter is file-backed (Bun's binary, mostly) rather than anonymous memory.
 * Only 127.0.0.1; everything started is stopped at the end.
 * @module
 */
import { mkdtempSync, openSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawnSync } from 'node:child_process'
import { parseArgs } from 'node:util'
import { installCleanup, start, stopAll, waitForPort, which, sleep, PROXY_CORE, LOAD_CORE } from './lib/proc.ts'
import { nginxUpstreamConfig, PORT_BASE } from './peers.ts'
import { prepareLegate } from './lib/legate.ts'
import { nativeOpenLoop } from './lib/openloop-native.ts'
import { runWrk } from './lib/wrk.ts'

const { values } = parseArgs({
  options: {
    peer: { type: 'string', default: 'legate-bun' },
    rate: { type: 'string', default: '1000' },
    duration: { type: 'string', default: '8' },
    warmup: { type: 'string', default: '5' },
    burst: { type: 'string', default: '0' },
    bin: { type: 'string' },
    env: { type: 'string', multiple: true, default: [] },
  },
})
const ROOT = new URL('../', import.meta.url).pathname
const rate = Number(values.rate)
const seconds = Number(values.duration)
const { bin: openloop, why } = nativeOpenLoop()
if (!openloop) throw new Error(`bench/lib/openloop.c: ${why}`)
if (!which('nginx')) throw new Error('nginx not found (apt-get install nginx-light)')
installCleanup()

const dir = mkdtempSync(join(tmpdir(), 'legate-bun-tail-'))
const upstream = start('upstream(nginx)', which('nginx')!, ['-c', nginxUpstreamConfig(dir, PORT_BASE), '-p', join(dir, 'nginx-upstream')], { core: PROXY_CORE })
await waitForPort(PORT_BASE, upstream)
const upstreamUrl = `http://127.0.0.1:${PORT_BASE}`
const port = PORT_BASE + 50
let args: string[]
if (values.peer === 'bun-fetch') args = [join(ROOT, 'bench/forwarders/bun-fetch.ts')]
else if (values.peer === 'legate-bun') {
  const l = prepareLegate(dir, upstreamUrl)
  args = [values.bin ?? join(ROOT, 'bin/legate.js'), 'ambassador', '--config-file', l.configFile, '--mesh', l.mesh, '--trust', l.jwks, '--outbound', String(port), '--inbound', String(port + 100), '--admin', String(port + 200)]
} else throw new Error(`--peer: legate-bun or bun-fetch, not ${values.peer}`)
const extraEnv = Object.fromEntries(values.env.map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]))
const gcLog = join(dir, 'gc.log')
// stderr to a file of its own (the GC log); the access log (stdout) to /dev/null, as in the bench.
const peer = start(values.peer, 'sh', ['-c', `exec "$0" "$@" > /dev/null 2> '${gcLog}'`, join(ROOT, 'node_modules/.bin/bun'), ...args], {
  core: PROXY_CORE,
  env: { LEGATE_LOG_LEVEL: 'info', PORT: String(port), UPSTREAM: upstreamUrl, BUN_JSC_logGC: '1', ...extraEnv },
})
await waitForPort(port, peer)
await sleep(1500)
// taskset and sh both exec: the process started is Bun itself.
const pid = peer.pid
const status = (p: number) => readFileSync(`/proc/${p}/status`, 'utf8')
const statusMb = (field: string) => Number(status(pid).match(new RegExp(`${field}:\\s+(\\d+)`))![1]) / 1024
const rssMb = () => statusMb('VmRSS')
const preemptions = () => Number(status(pid).match(/nonvoluntary_ctxt_switches:\s+(\d+)/)![1])
const rssIdleMb = rssMb()

if (Number(values.burst) > 0) await runWrk({ url: `http://127.0.0.1:${port}/100b`, connections: 32, durationS: Number(values.burst), host: 'echo' })
const generator = (r: number, s: number, extra: string[] = []) =>
  spawnSync('taskset', ['-c', String(LOAD_CORE), openloop, '--url', `http://127.0.0.1:${port}/100b`, '--host', 'echo', '--rate', String(r), '--duration', String(s), '--realtime', ...extra], { encoding: 'utf8' })
generator(rate * 2, Number(values.warmup))
await sleep(2000)
const logFrom = readFileSync(gcLog, 'utf8').length
const preempted0 = preemptions()
const samplesFile = join(dir, 'samples.txt')
const run = generator(rate, seconds, ['--samples', samplesFile])
const result = JSON.parse(run.stdout) as { p50Ms: number; p99Ms: number; p999Ms: number; maxMs: number; warmupS: number }
const requests = (seconds + (result.warmupS ?? 1)) * rate
const preemptionsPerRequest = (preemptions() - preempted0) / requests
const rssEndMb = rssMb()
// File-backed pages are mostly Bun's own binary, the code of its parser and compilers as they
// are first run: clean pages that the kernel can drop and that sidecars on one node share.
const rssEndFileMb = statusMb('RssFile')
await stopAll()

// Latency of every recorded request (ms): `sched_ms latency_ms send_lag_ms waited` after two header lines.
const samples = readFileSync(samplesFile, 'utf8').split('\n').slice(2).filter(Boolean).map((line) => line.split(' ').map(Number) as [number, number])
const bounds = [0.3, 0.5, 0.7, 1, 2, Infinity]
const hist: Record<string, number> = {}
for (let i = 0; i < bounds.length; i++) hist[`≤${bounds[i]}`] = samples.filter(([, ms]) => ms > (bounds[i - 1] ?? -1) && ms <= bounds[i]!).length
const stalls: number[] = []
let inStall = false
for (const [, ms] of samples) {
  if (ms > 0.5) {
    if (inStall) stalls[stalls.length - 1] = Math.max(stalls.at(-1)!, ms)
    else stalls.push(ms)
    inStall = true
  } else inStall = false
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN

const log = readFileSync(gcLog, 'utf8').slice(logFrom)
const edens: number[] = []
let fulls = 0
let heapKb = 0
let lastEndKb: number | undefined
for (const m of log.matchAll(/START \w+ (\d+)kb => (\w+)Collection.*?=> (\d+)kb, p=([\d.]+)ms/g)) {
  if (m[2] === 'Eden') edens.push(Number(m[4]))
  else fulls++
  if (lastEndKb !== undefined) heapKb += Number(m[1]) - lastEndKb
  lastEndKb = Number(m[3])
}
const round = (x: number, d = 3) => Math.round(x * 10 ** d) / 10 ** d
console.log(
  JSON.stringify({
    peer: values.peer,
    env: extraEnv,
    rate,
    requests: samples.length,
    p50Ms: result.p50Ms,
    p99Ms: result.p99Ms,
    p999Ms: result.p999Ms,
    maxMs: result.maxMs,
    hist,
    over05: samples.filter(([, ms]) => ms > 0.5).length,
    over1: samples.filter(([, ms]) => ms > 1).length,
    stalls: stalls.length,
    stallWorstP50Ms: round(median(stalls)),
    edens: edens.length,
    edenPauseP50Ms: round(median(edens)),
    edenPauseMaxMs: round(Math.max(0, ...edens)),
    fulls,
    heapKbPerRequest: round(heapKb / requests, 2),
    preemptionsPerRequest: round(preemptionsPerRequest, 2),
    rssIdleMb: round(rssIdleMb, 1),
    rssMb: round(rssEndMb, 1),
    rssFileMb: round(rssEndFileMb, 1),
  }),
)
process.exit(0)
