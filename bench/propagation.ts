/**
 * Propagation, publish → applied: a control (`legate control --store memory:`) and
 *  - 1 and 10 real ambassadors (`legate ambassador --control`): for each sample a new
 *    version is PUT; "applied" is each ambassador's own `appliedAt` from admin /config (it
 *    verified, compiled and swapped it), minus the wall time just before the PUT;
 *  - 1,000 simulated long-polling clients (bench/propagation-clients.ts, on the load core):
 *    "applied" is when the new JWS has arrived in full at the client.
 * All times are wall-clock on one machine, so they compare directly.
 * @module
 */
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { readFileSync } from 'node:fs'
import { performance } from 'node:perf_hooks'
import { request } from 'undici'
import { start, stop, sleep, PROXY_CORE, LOAD_CORE, waitForPort, type Started } from './lib/proc.ts'
import { prepareLegate, ambassadorAvailable, meshDocument, MESH } from './lib/legate.ts'
import { importSigningKey, signConfig } from '../protocol/index.ts'
import { percentile } from './lib/stats.ts'

const ROOT = new URL('../', import.meta.url).pathname
const CONTROL_PORT = 19190
const AMB_BASE = 19200
const now = () => performance.timeOrigin + performance.now()

export interface PropagationOptions {
  dir: string
  upstreamUrl: string
  log: (s: string) => void
  samples?: number
  clients?: number
}

const summary = (name: string, xs: number[], extra: Record<string, unknown> = {}) => {
  const s = [...xs].sort((a, b) => a - b)
  return { name, samples: s.length, p50Ms: percentile(s, 50), p99Ms: percentile(s, 99), maxMs: s[s.length - 1] ?? NaN, ...extra }
}

async function getJson(url: string): Promise<any> {
  const r = await request(url, { headersTimeout: 2000, bodyTimeout: 2000 })
  return r.statusCode === 200 ? r.body.json() : (await r.body.dump(), undefined)
}

export async function runPropagation(o: PropagationOptions) {
  o.log('\n== propagation ==')
  const why = ambassadorAvailable()
  if (why) {
    o.log(`  skipped: ${why}`)
    return { skipped: why }
  }
  const files = prepareLegate(o.dir, o.upstreamUrl)
  const key = await importSigningKey(JSON.parse(readFileSync(files.privateKey, 'utf8')))
  const doc = meshDocument(o.upstreamUrl, 10)
  let ver = Date.now()
  const sign = async () => signConfig(doc, { ...key, ver: ++ver, ttlSeconds: 3600 })
  const control = start('control', process.execPath, [join(ROOT, 'bin/legate.js'), 'control', '--port', String(CONTROL_PORT), '--host', '127.0.0.1', '--store', 'memory:', '--trust', files.jwks], { core: PROXY_CORE, cwd: ROOT, env: { LEGATE_LOG_LEVEL: 'silent' } })
  const procs: Started[] = [control]
  const url = `http://127.0.0.1:${CONTROL_PORT}`
  const publish = async (jws: string) => {
    const r = await request(`${url}/v1/meshes/${MESH}/config`, { method: 'PUT', body: jws, headers: { 'content-type': 'application/jwt' } })
    const text = await r.body.text()
    if (r.statusCode !== 201) throw new Error(`publish answered ${r.statusCode}: ${text}`)
  }
  const samples = o.samples ?? Number(process.env.LEGATE_BENCH_PROPAGATION_SAMPLES ?? 10)
  const cases: unknown[] = []
  try {
    await waitForPort(CONTROL_PORT, control)
    await publish(await sign())

    for (const count of [1, 10]) {
      const ambs: Started[] = []
      for (let i = 0; i < count; i++) {
        const p = AMB_BASE + i * 3
        ambs.push(start(`amb-${i}`, process.execPath, [join(ROOT, 'bin/legate.js'), 'ambassador', '--control', url, '--mesh', MESH, '--trust', files.jwks, '--outbound', String(p), '--admin', String(p + 1), '--inbound', String(p + 2), '--log-level', 'silent'], { core: PROXY_CORE, cwd: ROOT }))
      }
      procs.push(...ambs)
      const admin = (i: number) => `http://127.0.0.1:${AMB_BASE + i * 3 + 1}/config`
      try {
        // Every ambassador has the current version.
        const until = Date.now() + 60_000
        for (let i = 0; i < count; i++) {
          for (;;) {
            if (ambs[i]!.exited) throw new Error(`ambassador ${i} exited: ${ambs[i]!.log().slice(-300)}`)
            const c = await getJson(admin(i)).catch(() => undefined)
            if (c?.version === ver) break
            if (Date.now() > until) throw new Error(`ambassador ${i} did not apply version ${ver}`)
            await sleep(50)
          }
        }
        await sleep(500)
        const lat: number[] = []
        for (let k = 0; k < samples; k++) {
          const jws = await sign()
          const t0 = now()
          await publish(jws)
          for (let i = 0; i < count; i++) {
            const until2 = Date.now() + 10_000
            for (;;) {
              const c = await getJson(admin(i)).catch(() => undefined)
              if (c?.version === ver) {
                lat.push(Date.parse(c.appliedAt) - t0)
                break
              }
              if (Date.now() > until2) {
                lat.push(Infinity)
                break
              }
              await sleep(5)
            }
          }
          await sleep(200)
        }
        const s = summary(`${count} ambassador${count > 1 ? 's' : ''}`, lat, { ambassadors: count })
        cases.push(s)
        o.log(`  ${s.name}: p50 ${s.p50Ms.toFixed(1)} ms, p99 ${s.p99Ms.toFixed(1)} ms, max ${s.maxMs.toFixed(1)} ms (${s.samples} samples)`)
      } catch (err) {
        o.log(`  ${count} ambassadors: failed: ${(err as Error).message.split('\n')[0]}`)
        cases.push({ name: `${count} ambassadors`, error: (err as Error).message.slice(0, 300) })
      } finally {
        for (const a of ambs) await stop(a)
      }
    }

    // 1,000 simulated long-polling clients.
    const n = o.clients ?? 1000
    const child = spawn('taskset', ['-c', String(LOAD_CORE), process.execPath, '--import', 'tsx', join(ROOT, 'bench/propagation-clients.ts'), url, MESH, String(n)], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.on('data', (b) => (out += b))
    child.stderr.on('data', (b) => (err += b))
    try {
      const until = Date.now() + 30_000
      while (!out.includes('ready')) {
        if (child.exitCode !== null) throw new Error(`clients exited: ${err.slice(-300)}`)
        if (Date.now() > until) throw new Error('clients not ready after 30 s')
        await sleep(50)
      }
      const t0s: Record<number, number> = {}
      const k = Math.max(3, Math.min(samples, 5))
      for (let i = 0; i < k; i++) {
        const jws = await sign()
        t0s[ver] = now()
        await publish(jws)
        await sleep(1500)
      }
      const before = out.length
      child.stdin.write('done\n')
      const until2 = Date.now() + 10_000
      while (!out.slice(before).includes('}')) {
        if (Date.now() > until2) throw new Error('clients did not report')
        await sleep(50)
      }
      const rep = JSON.parse(out.slice(out.indexOf('{')).trim().split('\n')[0]!) as { arrivals: Record<string, number[]>; errors: number }
      const lat: number[] = []
      let missing = 0
      for (const [v, t0] of Object.entries(t0s)) {
        const got = rep.arrivals[v] ?? []
        missing += Math.max(0, n - got.length)
        for (const t of got) lat.push(t - t0)
        for (let i = got.length; i < n; i++) lat.push(Infinity)
      }
      const s = summary(`${n} simulated long-polling clients`, lat, { clients: n, publishes: k, missing, errors: rep.errors })
      cases.push(s)
      o.log(`  ${s.name}: p50 ${s.p50Ms.toFixed(1)} ms, p99 ${s.p99Ms.toFixed(1)} ms, max ${s.maxMs.toFixed(1)} ms (${k} publishes, ${missing} missing, ${rep.errors} errors)`)
    } catch (e) {
      o.log(`  ${n} clients: failed: ${(e as Error).message.split('\n')[0]}`)
      cases.push({ name: `${n} simulated long-polling clients`, error: (e as Error).message.slice(0, 300) })
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL')
    }
  } finally {
    for (const p of procs) await stop(p)
  }
  return {
    method:
      'A control (`legate control --store memory:`) pinned with the ambassadors to the proxy core. For 1 and 10 real ambassadors (`legate ambassador --control`, long-polling), each sample PUTs a new version and reads every ambassador\'s `appliedAt` from admin /config (set when it had verified, compiled and swapped the config); the figure is appliedAt minus the wall time just before the PUT (ms resolution). For 1,000 clients, bench/propagation-clients.ts on the load core holds 1,000 long-polls (`?wait=30`, `If-None-Match`) on 1,000 connections; the figure is the time the new JWS has arrived in full at each client (they do not verify it), minus the time before the PUT.',
    cases,
  }
}
