/**
 * ProcessStats from `node:process` and Linux's /proc. Bun and Deno implement the same
 * `node:` modules, so their runtimes use this file too.
 * @module
 */
import process from 'node:process'
import { readdirSync, readFileSync } from 'node:fs'
import type { ProcessStats } from '../../platform.ts'

const MAX_OPEN_FILES = /^Max open files\s+(\d+)/m

export function createProcessStats(): () => ProcessStats {
  // Once: uptime and the clock move together from here on.
  const startTimeSeconds = Math.round(Date.now() / 1000 - process.uptime())
  return () => {
    const cpu = process.cpuUsage()
    const mem = process.memoryUsage()
    return { cpuSeconds: (cpu.user + cpu.system) / 1e6, residentBytes: mem.rss, heapBytes: mem.heapUsed, startTimeSeconds, ...fds() }
  }
}

/** Open and allowed descriptors where /proc tells (Linux); nothing elsewhere. */
function fds(): { openFds?: number; maxFds?: number } {
  try {
    // Reading the directory opens one descriptor of its own, which the listing includes.
    const openFds = readdirSync('/proc/self/fd').length - 1
    const max = MAX_OPEN_FILES.exec(readFileSync('/proc/self/limits', 'utf8'))?.[1]
    return { openFds, maxFds: max === undefined ? undefined : Number(max) }
  } catch {
    return {}
  }
}
