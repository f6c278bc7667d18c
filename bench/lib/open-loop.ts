/**
 * An open-loop load generator: requests are scheduled at fixed times (rate r → one every
 * 1/r s) whatever happens to earlier ones, and each latency is measured from the request's
 * *scheduled* time, not from when it was actually sent. So a stall in the proxy shows up in
 * the latency of every request that should have been sent during it (no coordinated
 * omission, the flaw of closed-loop tools like wrk, whose connections politely wait). undici
 * keeps a pool of keep-alive connections; when all are busy a request queues, and that wait
 * counts too. The scheduler spins on setImmediate (the load core is its own), so requests
 * should leave within a few µs of their time; the lag is reported (`sendLagP99Ms`), and in
 * practice it reaches 0.7–1.2 ms at p99 (the event loop's and GC's own jitter): more than the
 * 0.3 ms per hop the latency scenario has to judge. The harness therefore uses the native
 * generator bench/lib/openloop.c (bench/lib/openloop-native.ts) and falls back to this one only
 * when it cannot compile it.
 *
 * CLI (the harness runs it pinned to the load core):
 *   node --import tsx bench/lib/open-loop.ts --url http://127.0.0.1:8080/100b --rate 1000 --duration 5 [--host echo] [--connections 64] [--warmup 1]
 * prints one JSON line.
 * @module
 */
import { Pool } from 'undici'
import { performance } from 'node:perf_hooks'
import { percentile } from './stats.ts'

export interface OpenLoopOptions {
  url: string
  rate: number
  durationS: number
  host?: string
  connections?: number
  /** Seconds at the same rate before recording starts. */
  warmupS?: number
}

/** What either generator prints: this one, or the native bench/lib/openloop.c (openloop-native.ts). */
export interface OpenLoopResult {
  /** 'open-loop.ts' (Node + undici) or 'openloop.c'. */
  generator?: string
  /** openloop.c: ran as SCHED_FIFO (asked for with --realtime, and allowed). */
  realtime?: boolean
  rate: number
  sent: number
  ok: number
  errors: number
  non2xx: number
  p50Ms: number
  p90Ms: number
  p99Ms: number
  p999Ms: number
  maxMs: number
  meanMs: number
  sendLagP50Ms?: number
  sendLagP99Ms: number
  sendLagP999Ms?: number
  /** openloop.c only: requests that found no idle connection at their time, and connections opened (warm-up included). */
  waited?: number
  connectionsOpened?: number
}

export async function openLoop(o: OpenLoopOptions): Promise<OpenLoopResult> {
  const url = new URL(o.url)
  const pool = new Pool(url.origin, { connections: o.connections ?? 64, pipelining: 1, keepAliveTimeout: 30_000, headersTimeout: 10_000, bodyTimeout: 10_000 })
  const path = url.pathname + url.search
  const headers: Record<string, string> = o.host ? { host: o.host } : {}
  const interval = 1000 / o.rate
  const warm = Math.round((o.warmupS ?? 1) * o.rate)
  const total = warm + Math.round(o.durationS * o.rate)
  const lat = new Float64Array(total - warm)
  const lag = new Float64Array(total - warm)
  let ok = 0
  let errors = 0
  let non2xx = 0
  let done = 0
  let sent = 0
  let resolveAll!: () => void
  const all = new Promise<void>((r) => (resolveAll = r))

  const fire = (i: number, scheduled: number) => {
    const rec = i >= warm
    if (rec) lag[i - warm] = performance.now() - scheduled
    pool
      .request({ path, method: 'GET', headers })
      .then(async (res) => {
        for await (const _ of res.body) {
          // drain
        }
        if (res.statusCode < 200 || res.statusCode >= 400) non2xx++
        else ok++
      })
      .catch(() => {
        errors++
      })
      .finally(() => {
        if (rec) lat[i - warm] = performance.now() - scheduled
        if (++done === total) resolveAll()
      })
  }

  const t0 = performance.now() + 5
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now()
      while (sent < total && t0 + sent * interval <= now) {
        fire(sent, t0 + sent * interval)
        sent++
      }
      if (sent < total) setImmediate(tick)
      else resolve()
    }
    setImmediate(tick)
  })
  await all
  await pool.close()
  const sorted = Float64Array.from(lat).sort()
  const lagSorted = Float64Array.from(lag).sort()
  let sum = 0
  for (const x of sorted) sum += x
  return {
    generator: 'open-loop.ts',
    rate: o.rate,
    sent: sorted.length,
    ok,
    errors,
    non2xx,
    p50Ms: percentile(sorted, 50),
    p90Ms: percentile(sorted, 90),
    p99Ms: percentile(sorted, 99),
    p999Ms: percentile(sorted, 99.9),
    maxMs: sorted[sorted.length - 1] ?? NaN,
    meanMs: sum / Math.max(1, sorted.length),
    sendLagP50Ms: percentile(lagSorted, 50),
    sendLagP99Ms: percentile(lagSorted, 99),
    sendLagP999Ms: percentile(lagSorted, 99.9),
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const arg = (name: string, dflt?: string) => {
    const i = process.argv.indexOf(`--${name}`)
    return i > 0 ? process.argv[i + 1]! : dflt
  }
  const url = arg('url')
  if (!url) {
    console.error('usage: open-loop.ts --url URL --rate N --duration S [--host H] [--connections N] [--warmup S]')
    process.exit(2)
  }
  const r = await openLoop({
    url,
    rate: Number(arg('rate', '1000')),
    durationS: Number(arg('duration', '5')),
    host: arg('host'),
    connections: Number(arg('connections', '64')),
    warmupS: Number(arg('warmup', '1')),
  })
  process.stdout.write(JSON.stringify(r) + '\n')
}
