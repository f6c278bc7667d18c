/**
 * `node --import tsx scripts/runtime-bench.ts [--seconds 8] [--connections 32]`: the same
 * ambassador (the same signed config, one route to one nginx upstream answering 100 bytes)
 * on Node, Bun, Deno (each `legate ambassador --config-file`, same flags) and workerd
 * (Miniflare on a port), measured one after the other in one run: throughput (wrk), CPU
 * time of the ambassador's process per request, its RSS after the run. Ambassador and
 * upstream share CPU 0, wrk runs on CPU 1. Compare rows only within one run: the machine is
 * shared and figures swing by ±30% between runs.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { Miniflare } from 'miniflare'
import { generateSigningKey, importSigningKey, signConfig } from '../protocol/index.ts'
import { freePort, ROOT } from '../test/conformance/targets.ts'
import { bundleWorkerd } from '../test/worker/helpers.ts'
import { tempDir, until } from '../test/worker/helpers.ts'

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '8' }, connections: { type: 'string', default: '32' } } })
const dir = tempDir('legate-runtime-bench-')
const bin = (name: string) => join(ROOT, 'node_modules/.bin', name)

// The upstream: nginx answering 100 bytes, one worker, on CPU 0 with the ambassador.
const upstreamPort = await freePort()
writeFileSync(join(dir, 'nginx.conf'), `worker_processes 1; daemon off; pid ${dir}/nginx.pid; error_log ${dir}/nginx.err;
events { worker_connections 1024; }
http { access_log off; server { listen 127.0.0.1:${upstreamPort}; keepalive_requests 1000000; location / { return 200 "${'x'.repeat(100)}"; } } }`)
const nginx = spawn('taskset', ['-c', '0', 'nginx', '-c', join(dir, 'nginx.conf'), '-p', dir], { stdio: 'ignore' })

const { privateJwk, publicJwk } = await generateSigningKey('bench', 'EdDSA')
const key = await importSigningKey(privateJwk)
const jws = await signConfig({ mesh: 'bench', services: [{ name: 'echo', endpoints: [`http://127.0.0.1:${upstreamPort}`] }] }, { ...key, ver: 1 })
writeFileSync(join(dir, 'trust.json'), JSON.stringify({ keys: [publicJwk] }))
writeFileSync(join(dir, 'c.jws'), jws)

const cpuTicks = (pid: number) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
  return Number(f[11]) + Number(f[12])
}
const rssMb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024
const TICK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100

function wrk(port: number, seconds: number) {
  const r = spawnSync('taskset', ['-c', '1', 'wrk', '-t1', `-c${values.connections}`, `-d${seconds}s`, '--latency', '-H', 'Host: echo', `http://127.0.0.1:${port}/`], { encoding: 'utf8' })
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(r.stdout)?.[1] ?? 0)
  const total = Number(/(\d+) requests in/.exec(r.stdout)?.[1] ?? 0)
  const p99 = /99%\s+([\d.]+\w+)/.exec(r.stdout)?.[1] ?? '?'
  const errors = /Non-2xx or 3xx responses: (\d+)/.exec(r.stdout)?.[1] ?? '0'
  return { rps, total, p99, errors }
}

interface Started { pid: number; port: number; stop(): Promise<void> }

async function startCli(runtime: 'node' | 'bun' | 'deno'): Promise<Started> {
  const cmd = { node: [process.execPath, 'bin/legate.js'], bun: [bin('bun'), 'bin/legate.js'], deno: [bin('deno'), 'run', '-A', 'bin/legate.js'] }[runtime]
  const [admin, outbound] = [await freePort(), await freePort()]
  const child: ChildProcess = spawn('taskset', ['-c', '0', ...cmd, 'ambassador', '--config-file', join(dir, 'c.jws'), '--mesh', 'bench', '--trust', join(dir, 'trust.json'), '--admin', String(admin), '--outbound', String(outbound), '--log-level', 'error'], { cwd: ROOT, stdio: 'ignore' })
  await until(async () => (await fetch(`http://127.0.0.1:${admin}/readyz`).catch(() => undefined))?.status === 200, 60_000, 100)
  return { pid: child.pid!, port: outbound, stop: async () => void child.kill('SIGKILL') }
}

async function startWorkerd(): Promise<Started> {
  const script = await bundleWorkerd()
  const port = await freePort()
  const mf = new Miniflare({ modules: true, script, compatibilityDate: '2026-04-20', host: '127.0.0.1', port, bindings: { LEGATE_MESH: 'bench', LEGATE_TRUST: JSON.stringify({ keys: [publicJwk] }), LEGATE_CONFIG: jws, LEGATE_LOG_LEVEL: 'error' } })
  await mf.ready
  // The workerd child of this process serves the port itself; pin it (all threads) like the others.
  const pid = Number(spawnSync('pgrep', ['-P', String(process.pid), 'workerd'], { encoding: 'utf8' }).stdout.trim().split('\n')[0])
  spawnSync('taskset', ['-a', '-p', '-c', '0', String(pid)])
  return { pid, port, stop: () => mf.dispose() }
}

const rows: string[] = []
const seconds = Number(values.seconds)
await until(async () => (await fetch(`http://127.0.0.1:${upstreamPort}/`).catch(() => undefined))?.status === 200, 10_000, 50)
const direct = wrk(upstreamPort, Math.min(seconds, 4))
rows.push(`| nginx direct (no ambassador) | ${direct.rps.toFixed(0)} | — | — | ${direct.p99} |`)
for (const runtime of ['node', 'bun', 'deno', 'workerd'] as const) {
  const s = runtime === 'workerd' ? await startWorkerd() : await startCli(runtime)
  try {
    wrk(s.port, 2) // warm-up: JIT, pools
    const t0 = cpuTicks(s.pid)
    const r = wrk(s.port, seconds)
    const cpuUs = ((cpuTicks(s.pid) - t0) / TICK / Math.max(1, r.total)) * 1e6
    rows.push(`| ${runtime} | ${r.rps.toFixed(0)} | ${cpuUs.toFixed(0)} | ${rssMb(s.pid).toFixed(0)} | ${r.p99} |${r.errors !== '0' ? ` ${r.errors} non-2xx` : ''}`)
  } finally {
    await s.stop()
  }
}
nginx.kill('SIGTERM')
const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')
console.log([`# ${values.connections} connections, ${seconds} s per runtime, 100 B GET through one route; load average at the end ${load} (2 cores, shared)`, '| runtime | req/s | CPU µs/request | RSS MB | p99 |', '|---|---|---|---|---|', ...rows].join('\n'))
