/**
 * Processes for the benchmark: spawn pinned to a core (taskset), wait for a port, read CPU
 * time and RSS of a process tree from /proc, and stop everything we started, also on error
 * and on Ctrl-C. Only processes started here are ever signalled, by their pid.
 * @module
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { readFileSync, readdirSync, existsSync } from 'node:fs'
import { connect } from 'node:net'

const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100
const hasTaskset = spawnSync('taskset', ['-V']).status === 0
export const cores = (() => {
  try {
    return readFileSync('/proc/cpuinfo', 'utf8').split('\n').filter((l) => l.startsWith('processor')).length
  } catch {
    return 1
  }
})()

/** The core for proxies and the upstream, and the one for the load generator. */
export const PROXY_CORE = 0
export const LOAD_CORE = cores > 1 ? 1 : 0

/** Is `cmd` on the PATH (or an existing path)? */
export function which(cmd: string): string | undefined {
  if (cmd.includes('/')) return existsSync(cmd) ? cmd : undefined
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' })
  const out = r.stdout.trim()
  return r.status === 0 && out ? out : undefined
}

export interface Started {
  name: string
  child: ChildProcess
  pid: number
  /** The last lines the process wrote, for error messages. */
  log(): string
  exited: boolean
}

/** A peer of an A/B run (bench/ab.ts, bench/bun-ab.ts): how to start it, where it listens, and the process once started. */
export interface AbPeer {
  name: string
  port: number
  host?: string
  proc?: Started
  launch(): Started
}

const running = new Set<Started>()

/**
 * `cmd args` with its stdout sent to `file` (appended; default /dev/null), as a command for `start`:
 * `sh -c 'exec …'`, so the shell becomes the program and the pid (and its CPU time) measured is
 * the program's own. For a peer's access log: written like any log, never read by the harness,
 * which shares the load generator's core.
 */
export function stdoutTo(cmd: string, args: string[], file = '/dev/null'): { cmd: string; args: string[] } {
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`
  return { cmd: 'sh', args: ['-c', `exec ${[cmd, ...args].map(q).join(' ')} >> ${q(file)}`] }
}

/** Spawns `cmd args` pinned to `core` (when taskset exists). */
export function start(name: string, cmd: string, args: string[], opts: { core?: number; env?: NodeJS.ProcessEnv; cwd?: string } = {}): Started {
  const pinned = hasTaskset && opts.core !== undefined
  const child = spawn(pinned ? 'taskset' : cmd, pinned ? ['-c', String(opts.core), cmd, ...args] : args, {
    env: { ...process.env, ...opts.env },
    cwd: opts.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let tail = ''
  const keep = (b: Buffer) => {
    tail = (tail + b.toString()).slice(-4000)
  }
  child.stdout!.on('data', keep)
  child.stderr!.on('data', keep)
  const s: Started = { name, child, pid: child.pid ?? -1, log: () => tail, exited: false }
  child.on('exit', () => {
    s.exited = true
    running.delete(s)
  })
  child.on('error', (err) => {
    tail += `\nspawn error: ${err.message}`
    s.exited = true
    running.delete(s)
  })
  running.add(s)
  return s
}

/** SIGTERM, then SIGKILL after `graceMs`, to the process and every descendant it has. */
export async function stop(s: Started, graceMs = 2000): Promise<void> {
  if (s.exited) return
  const pids = [s.pid, ...descendants(s.pid)]
  for (const pid of pids.reverse()) {
    try {
      process.kill(pid, 'SIGTERM')
    } catch {}
  }
  const until = Date.now() + graceMs
  while (!s.exited && Date.now() < until) await sleep(25)
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL')
    } catch {}
  }
  while (!s.exited && Date.now() < until + 1000) await sleep(25)
  running.delete(s)
}

export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((s) => stop(s)))
}

/** Synchronous last resort (process 'exit' handler): SIGKILL what is left. */
function killAllSync() {
  for (const s of running) {
    for (const pid of [s.pid, ...descendants(s.pid)]) {
      try {
        process.kill(pid, 'SIGKILL')
      } catch {}
    }
  }
}

let handlersInstalled = false
export function installCleanup() {
  if (handlersInstalled) return
  handlersInstalled = true
  process.on('exit', killAllSync)
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(sig, () => {
      process.stderr.write(`\n${sig}: stopping every process the bench started\n`)
      stopAll().finally(() => process.exit(130))
    })
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

/** Resolves once something accepts TCP connections on 127.0.0.1:port. */
export async function waitForPort(port: number, s?: Started, timeoutMs = 15000): Promise<void> {
  const until = Date.now() + timeoutMs
  for (;;) {
    if (s?.exited) throw new Error(`${s.name} exited before listening on ${port}:\n${s.log()}`)
    const ok = await new Promise<boolean>((resolve) => {
      const sock = connect(port, '127.0.0.1')
      sock.once('connect', () => {
        sock.destroy()
        resolve(true)
      })
      sock.once('error', () => resolve(false))
    })
    if (ok) return
    if (Date.now() > until) throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms${s ? `:\n${s.log()}` : ''}`)
    await sleep(50)
  }
}

/** Is a port free on 127.0.0.1? */
export async function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect(port, '127.0.0.1')
    sock.once('connect', () => {
      sock.destroy()
      resolve(false)
    })
    sock.once('error', () => resolve(true))
  })
}

function parentMap(): Map<number, number[]> {
  const children = new Map<number, number[]>()
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8')
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
      const list = children.get(ppid) ?? []
      list.push(Number(name))
      children.set(ppid, list)
    } catch {}
  }
  return children
}

export function descendants(pid: number): number[] {
  const map = parentMap()
  const out: number[] = []
  const queue = [pid]
  while (queue.length) {
    for (const c of map.get(queue.shift()!) ?? []) {
      out.push(c)
      queue.push(c)
    }
  }
  return out
}

/** utime + stime of one process (all its threads), in microseconds. */
function cpuMicros(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    // fields after the comm: state(0) ppid(1) ... utime is field 14 overall → index 11 here
    return ((Number(f[11]) + Number(f[12])) * 1e6) / CLK_TCK
  } catch {
    return 0
  }
}

function statusKb(pid: number, key: string): number {
  try {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m ? Number(m[1]) : 0
  } catch {
    return 0
  }
}

/** The pids to measure for a started process: itself (or, through taskset, what it exec'd) and its descendants. */
export function tree(pid: number): number[] {
  return [pid, ...descendants(pid)]
}

/** CPU time (µs) of each thread of one process, by thread name (threads of one name summed). */
export function threadCpu(pid: number): Map<string, number> {
  const out = new Map<string, number>()
  let tids: string[] = []
  try {
    tids = readdirSync(`/proc/${pid}/task`)
  } catch {}
  for (const tid of tids) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8')
      const name = Number(tid) === pid ? 'main' : stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'))
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      out.set(name, (out.get(name) ?? 0) + ((Number(f[11]) + Number(f[12])) * 1e6) / CLK_TCK)
    } catch {}
  }
  return out
}

/** CPU time (µs) of a process tree. */
export function treeCpu(pid: number): number {
  return tree(pid).reduce((a, p) => a + cpuMicros(p), 0)
}

/** Resident memory (MB) of a process tree. */
export function treeRssMb(pid: number): number {
  return tree(pid).reduce((a, p) => a + statusKb(p, 'VmRSS'), 0) / 1024
}

/** Peak resident memory (MB, VmHWM) of a process tree. */
export function treePeakRssMb(pid: number): number {
  return tree(pid).reduce((a, p) => a + statusKb(p, 'VmHWM'), 0) / 1024
}

/** Load average and the CPU busy share over `ms` for the whole machine (how shared it is). */
export async function machineLoad(ms = 1000): Promise<{ loadavg1: number; busyPct: number; stealPct: number }> {
  const read = () => {
    const l = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number)
    const idle = l[3]! + (l[4] ?? 0)
    const steal = l[7] ?? 0
    const total = l.slice(0, 8).reduce((a, b) => a + b, 0)
    return { idle, steal, total }
  }
  const a = read()
  await sleep(ms)
  const b = read()
  const dt = Math.max(1, b.total - a.total)
  const busyPct = 100 * (1 - (b.idle - a.idle) / dt)
  const stealPct = (100 * (b.steal - a.steal)) / dt
  const loadavg1 = Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0])
  return { loadavg1, busyPct: Math.round(busyPct * 10) / 10, stealPct: Math.round(stealPct * 10) / 10 }
}

/** Machine-wide TCP trouble counters (/proc/net/netstat): SYNs dropped by full listen queues and SYN retransmits. */
export function tcpTrouble(): { listenDrops: number; synRetrans: number } {
  try {
    const lines = readFileSync('/proc/net/netstat', 'utf8').split('\n')
    const i = lines.findIndex((l) => l.startsWith('TcpExt:'))
    const keys = lines[i]!.split(/\s+/)
    const vals = lines[i + 1]!.split(/\s+/).map(Number)
    const get = (k: string) => vals[keys.indexOf(k)] ?? 0
    return { listenDrops: get('ListenDrops'), synRetrans: get('TCPSynRetrans') }
  } catch {
    return { listenDrops: 0, synRetrans: 0 }
  }
}
