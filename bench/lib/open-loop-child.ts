/**
 * One open-loop run in a process of its own pinned to the load core: the native generator
 * (bench/lib/openloop.c) when it compiles, else the Node one (bench/lib/open-loop.ts), with the
 * same result shape. Bounded: a peer that stops answering costs at most the run plus 40 s.
 * @module
 */
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { LOAD_CORE } from './proc.ts'
import { nativeArgs, nativeOpenLoop } from './openloop-native.ts'
import type { OpenLoopOptions, OpenLoopResult } from './open-loop.ts'

const ROOT = new URL('../../', import.meta.url).pathname

export interface ChildOptions {
  /** The Node generator even when the native one compiles. */
  node?: boolean
  /** The native generator under SCHED_FIFO (see openloop.c --realtime). */
  realtime?: boolean
}

export function runOpenLoopChild(o: OpenLoopOptions, opts: ChildOptions = {}): Promise<OpenLoopResult> {
  const bin = opts.node ? undefined : nativeOpenLoop().bin
  const nodeArgs = [process.execPath, '--import', 'tsx', join(ROOT, 'bench/lib/open-loop.ts'), '--url', o.url, '--rate', String(o.rate), '--duration', String(o.durationS), '--warmup', String(o.warmupS ?? 1)]
  if (o.host) nodeArgs.push('--host', o.host)
  const args = ['-c', String(LOAD_CORE), ...(bin ? [bin, ...nativeArgs(o, opts.realtime ?? false)] : nodeArgs)]
  const child = spawn('taskset', args, { stdio: ['ignore', 'pipe', 'pipe'], cwd: ROOT })
  let out = ''
  let err = ''
  child.stdout.on('data', (b) => (out += b))
  child.stderr.on('data', (b) => (err += b))
  const killer = setTimeout(() => child.kill('SIGKILL'), (o.durationS + (o.warmupS ?? 1) + 40) * 1000)
  return new Promise((resolve, reject) =>
    child.on('exit', (code) => {
      clearTimeout(killer)
      if (code !== 0) reject(new Error(`open-loop generator exited ${code}: ${err.trim()}`))
      else resolve(JSON.parse(out.trim().split('\n').pop()!))
    }),
  )
}
