/**
 * The native open-loop generator (bench/lib/openloop.c) from TypeScript: compiled on demand
 * with `cc -O2` into bench/results/tmp/ (git-ignored; rebuilt when the source is newer), and
 * run with the same options and the same result shape as bench/lib/open-loop.ts, so the
 * latency scenario can use either. It is the default because the Node generator's own send
 * lag (0.7–1.2 ms at p99) is larger than the 0.3 ms per hop that has to be judged; without a C
 * compiler the bench falls back to the Node one and says so.
 *
 * By hand: bench/results/tmp/openloop --url http://127.0.0.1:8080/100b --rate 1000 --duration 5 [--host echo] [--realtime]
 * (once a bench has built it); from TypeScript: `runOpenLoopChild` (bench/lib/open-loop-child.ts).
 * @module
 */
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, renameSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { which } from './proc.ts'
import type { OpenLoopOptions } from './open-loop.ts'

const ROOT = new URL('../../', import.meta.url).pathname
const SOURCE = join(ROOT, 'bench/lib/openloop.c')
const CACHE = join(ROOT, 'bench/results/tmp')

let built: { bin?: string; why?: string } | undefined

/** The compiled generator's path, or why there is none (no `cc`, a compile error). Built once per process. */
export function nativeOpenLoop(): { bin?: string; why?: string } {
  if (built) return built
  const bin = join(CACHE, 'openloop')
  if (existsSync(bin) && statSync(bin).mtimeMs >= statSync(SOURCE).mtimeMs) return (built = { bin })
  const cc = which('cc')
  if (!cc) return (built = { why: 'no C compiler (`cc`) on the PATH' })
  mkdirSync(CACHE, { recursive: true })
  // Into a private name first, then renamed: another bench starting at the same moment must
  // never run a half-written binary.
  const tmp = `${bin}.${process.pid}`
  const r = spawnSync(cc, ['-O2', '-o', tmp, SOURCE], { encoding: 'utf8' })
  if (r.status !== 0) return (built = { why: `cc -O2 bench/lib/openloop.c failed: ${(r.stderr || r.error?.message || '').trim().split('\n').slice(0, 3).join(' | ')}` })
  renameSync(tmp, bin)
  return (built = { bin })
}

/**
 * The generator's arguments for these options. `realtime`: ask for SCHED_FIFO (the generator
 * sleeps between requests, so this costs its core little; on a shared machine it keeps the
 * generator's own send lag in tens of µs instead of milliseconds; it takes only as root or with
 * CAP_SYS_NICE, and the result's `realtime` says whether it did).
 */
export function nativeArgs(o: OpenLoopOptions, realtime = false): string[] {
  const args = ['--url', o.url, '--rate', String(o.rate), '--duration', String(o.durationS), '--warmup', String(o.warmupS ?? 1), '--connections', String(o.connections ?? 64)]
  if (o.host) args.push('--host', o.host)
  if (realtime) args.push('--realtime')
  return args
}
