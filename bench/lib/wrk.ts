/**
 * wrk as the closed-loop load generator (max throughput): run it pinned to the load core,
 * parse req/s, latency percentiles (--latency), errors and non-2xx counts.
 * @module
 */
import { spawn } from 'node:child_process'
import { writeFileSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { LOAD_CORE } from './proc.ts'

export interface WrkResult {
  rps: number
  requests: number
  durationS: number
  p50Ms: number
  p75Ms: number
  p90Ms: number
  p99Ms: number
  transferPerSec: string
  errors: number
  non2xx: number
}

function ms(text: string): number {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(text.trim())
  if (!m) return NaN
  const v = Number(m[1])
  return m[2] === 'us' ? v / 1000 : m[2] === 'ms' ? v : m[2] === 's' ? v * 1000 : v * 60000
}

export function parseWrk(out: string): WrkResult {
  const pct = (p: string) => {
    const m = new RegExp(`^\\s+${p}%\\s+(\\S+)`, 'm').exec(out)
    return m ? ms(m[1]!) : NaN
  }
  const reqs = /(\d+) requests in ([\d.]+)(ms|s|m)/.exec(out)
  const durationS = reqs ? Number(reqs[2]) * (reqs[3] === 'ms' ? 0.001 : reqs[3] === 'm' ? 60 : 1) : NaN
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out)
  return {
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN),
    requests: reqs ? Number(reqs[1]) : 0,
    durationS,
    p50Ms: pct('50'),
    p75Ms: pct('75'),
    p90Ms: pct('90'),
    p99Ms: pct('99'),
    transferPerSec: /Transfer\/sec:\s+(\S+)/.exec(out)?.[1] ?? '',
    errors: sock ? sock.slice(1).reduce((a, b) => a + Number(b), 0) : 0,
    non2xx: Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0),
  }
}

let luaDir: string | undefined
/** A wrk Lua script that POSTs `bytes` bytes on every request. */
export function uploadScript(bytes: number): string {
  luaDir ??= mkdtempSync(join(tmpdir(), 'legate-bench-lua-'))
  const path = join(luaDir, `post-${bytes}.lua`)
  writeFileSync(path, `wrk.method = "POST"\nwrk.body = string.rep("x", ${bytes})\nwrk.headers["Content-Type"] = "application/octet-stream"\n`)
  return path
}

export interface WrkOptions {
  url: string
  connections: number
  durationS: number
  host?: string
  script?: string
  timeoutS?: number
}

export async function runWrk(o: WrkOptions): Promise<WrkResult & { raw: string }> {
  const args = ['-c', String(LOAD_CORE), 'wrk', '-t1', `-c${o.connections}`, `-d${o.durationS}s`, '--latency', `--timeout`, `${o.timeoutS ?? 5}s`]
  if (o.host) args.push('-H', `Host: ${o.host}`)
  if (o.script) args.push('-s', o.script)
  args.push(o.url)
  const child = spawn('taskset', args, { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  child.stdout.on('data', (b) => (out += b))
  child.stderr.on('data', (b) => (out += b))
  const code = await new Promise<number | null>((r) => child.on('exit', r))
  if (code !== 0) throw new Error(`wrk exited ${code}: ${out}`)
  return { ...parseWrk(out), raw: out }
}
