/**
 * Config scale at 10, 1k, 10k and 100k routes. Two parts per size:
 *  1. in a fresh process (bench/scale-worker.ts), pinned to the proxy core: verify and
 *     compile times (median of several), the heap the compiled snapshot holds, one lookup;
 *  2. the real ambassador (`legate ambassador --config-file`) started with that config: time
 *     from spawn to /readyz 200, RSS once ready, and max throughput (wrk, 32 connections,
 *     100 B) for the *last* route with its CPU per request.
 * @module
 */
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { request } from 'undici'
import { performance } from 'node:perf_hooks'
import { start, stop, treeCpu, treeRssMb, waitForPort, sleep, which, PROXY_CORE } from './lib/proc.ts'
import { prepareLegate, ambassadorAvailable, MESH } from './lib/legate.ts'
import { runWrk } from './lib/wrk.ts'

const ROOT = new URL('../', import.meta.url).pathname
const PORT = 19180

export interface ScaleOptions {
  dir: string
  upstreamUrl: string
  upstreamPort: number
  durationS: number
  sizes?: number[]
  log: (s: string) => void
}

function worker(n: number, upstreamUrl: string, out: string, keyPath?: string): Promise<Record<string, number>> {
  const child = spawn('taskset', ['-c', String(PROXY_CORE), process.execPath, '--expose-gc', '--max-old-space-size=8192', '--import', 'tsx', join(ROOT, 'bench/scale-worker.ts'), String(n), upstreamUrl, out, ...(keyPath ? [keyPath] : [])], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
  let so = ''
  let se = ''
  child.stdout.on('data', (b) => (so += b))
  child.stderr.on('data', (b) => (se += b))
  return new Promise((resolve, reject) =>
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(so.trim().split('\n').pop()!)) : reject(new Error(`scale worker ${n} exited ${code}: ${se.slice(-1000)}`)))),
  )
}

export async function runScale(o: ScaleOptions) {
  const sizes = o.sizes ?? (process.env.LEGATE_BENCH_SCALE_SIZES?.split(',').map(Number) || [10, 1000, 10000, 100000])
  const points: Record<string, unknown>[] = []
  const noAmb = ambassadorAvailable()
  // The operator key (legate keygen) the worker signs with and the ambassador trusts.
  const files = noAmb ? undefined : prepareLegate(o.dir, o.upstreamUrl)
  o.log('\n== scale ==')
  for (const n of sizes) {
    const jwsPath = join(o.dir, `scale-${n}.jws`)
    let point: Record<string, unknown> = { routes: n }
    try {
      point = { ...(await worker(n, o.upstreamUrl, jwsPath, files?.privateKey)) }
    } catch (err) {
      o.log(`  ${n} routes: worker failed: ${(err as Error).message.split('\n')[0]}`)
      points.push({ routes: n, error: (err as Error).message.slice(0, 500) })
      continue
    }
    if (files && which('wrk')) {
      // The worker signed it with the bench operator key, which the ambassador trusts.
      const signed = { configFile: jwsPath, jwks: files.jwks }
      const bytes = (point.jwsBytes as number) + 65536
      const t0 = performance.now()
      const amb = start(`legate-${n}`, process.execPath, [join(ROOT, 'bin/legate.js'), 'ambassador', '--config-file', signed.configFile, '--mesh', MESH, '--trust', signed.jwks, '--outbound', String(PORT), '--admin', String(PORT + 1), '--inbound', String(PORT + 2), '--max-config-bytes', String(bytes), '--log-level', 'silent'], { core: PROXY_CORE, cwd: ROOT })
      try {
        const until = Date.now() + 120_000
        for (;;) {
          if (amb.exited) throw new Error(`ambassador exited: ${amb.log().slice(-400)}`)
          try {
            const r = await request(`http://127.0.0.1:${PORT + 1}/readyz`, { headersTimeout: 2000 })
            await r.body.dump()
            if (r.statusCode === 200) break
          } catch {}
          if (Date.now() > until) throw new Error(`not ready after 120 s: ${amb.log().slice(-400)}`)
          await sleep(20)
        }
        point.startToReadyMs = performance.now() - t0
        await waitForPort(PORT, amb)
        point.rssReadyMb = treeRssMb(amb.pid)
        const host = n > 0 ? `h${n - 1}` : 'echo'
        await runWrk({ url: `http://127.0.0.1:${PORT}/100b`, connections: 32, durationS: 1, host })
        const c0 = treeCpu(amb.pid)
        const w = await runWrk({ url: `http://127.0.0.1:${PORT}/100b`, connections: 32, durationS: o.durationS, host })
        point.rps = w.rps
        point.cpuUsPerReq = (treeCpu(amb.pid) - c0) / Math.max(1, w.requests)
        point.errors = w.errors + w.non2xx
        point.rssMb = treeRssMb(amb.pid)
      } catch (err) {
        point.ambassadorError = (err as Error).message.slice(0, 500)
      } finally {
        await stop(amb)
      }
    }
    points.push(point)
    const p = point as Record<string, number>
    o.log(
      `  ${String(n).padStart(6)} routes: jws ${((p.jwsBytes ?? 0) / 1024).toFixed(0)} KiB, verify ${p.verifyMs?.toFixed(1)} ms, compile ${p.compileMs?.toFixed(1)} ms, apply ${p.applyMs?.toFixed(1)} ms (CPU ${p.applyCpuMs?.toFixed(1)} ms), update (1% of routes changed) ${p.updateApplyMs?.toFixed(1)} ms (CPU ${p.updateApplyCpuMs?.toFixed(1)} ms), snapshot heap ${p.snapshotHeapMb?.toFixed(1)} MB, lookup ${p.lookupNs?.toFixed(0)} ns` +
        (p.startToReadyMs ? `; ambassador ready in ${p.startToReadyMs.toFixed(0)} ms, RSS ${p.rssMb?.toFixed(0)} MB, ${Math.round(p.rps ?? 0)} req/s, ${p.cpuUsPerReq?.toFixed(1)} µs/req` : '') +
        ((point as { ambassadorError?: string }).ambassadorError ? `; ambassador: ${(point as { ambassadorError?: string }).ambassadorError}` : ''),
    )
  }
  return {
    method:
      'Per size, a fresh process (bench/scale-worker.ts, pinned to the proxy core) signs a mesh of N routes (each its own hostname `h<i>`, one PathPrefix rule, every 4th with a second rule with a header match) and times `verifyConfig` (size cap, signature, claims, schema) and `compileSnapshot` (`compileRoutes` plus endpoint state): "apply" is their sum, what the ambassador does between receiving a config and swapping it in (median of 3–9 repetitions). "Update" is the next version with 1 route in 100 changed, applied as the config holder does: `verifyConfig` with the config served as `previous` (a route equal to its route of the same name is not validated again) and `compileSnapshot` with the previous snapshot. Times are wall clock; the CPU figures are process CPU time (all threads), steadier on a shared machine. Then `legate ambassador --config-file` is started with the same config: RSS once /readyz answers 200, and max throughput (wrk, 32 connections, 100 B) to the last route with the proxy CPU per request.',
    points,
  }
}
