/**
 * CPU cost per request of the resilience path against the core path (issue 6 closing note),
 * not a test: `node --import tsx test/resilience/cpu-cost.ts [--rounds 3] [--duration 5]`.
 *
 * Two CLI ambassadors on the same upstream (bench/upstream.ts), both pinned with it to one
 * core and wrk to the other, taking turns: "core" has a service with no resilience config
 * and the implicit route (one try, round-robin); "resilience" has least-request, outlier
 * detection, a circuit breaker, active health checks, and a route with retries and both
 * timeouts. CPU µs per request is the ambassador process's CPU time over wrk's requests.
 * @module
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { installCleanup, start, stopAll, treeCpu, waitForPort, PROXY_CORE, sleep, type Started } from '../../bench/lib/proc.ts'
import { runWrk } from '../../bench/lib/wrk.ts'
import { prepareLegate, meshDocument, MESH } from '../../bench/lib/legate.ts'

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '3' }, duration: { type: 'string', default: '5' }, connections: { type: 'string', default: '32' } } })
const ROOT = new URL('../../', import.meta.url).pathname
const PORTS = { upstream: 19710, core: 19711, resilience: 19712, adminCore: 19713, adminResilience: 19714 }
const upstream = `http://127.0.0.1:${PORTS.upstream}`

installCleanup()
const dir = mkdtempSync(join(tmpdir(), 'legate-resilience-cost-'))
const core = prepareLegate(dir, upstream, meshDocument(upstream), 'core')
const resilience = prepareLegate(
  dir,
  upstream,
  {
    mesh: MESH,
    services: [
      {
        name: 'echo',
        endpoints: [upstream],
        loadBalancing: 'least-request',
        outlierDetection: { consecutive5xx: 5, interval: '10s', baseEjectionTime: '30s', maxEjectionPercent: 50 },
        circuitBreaker: { maxConnections: 1024, maxPendingRequests: 1024, maxRequests: 1024, maxRetries: 3 },
        healthCheck: { path: '/100b', interval: '5s', timeout: '1s', unhealthyThreshold: 3, healthyThreshold: 2 },
      },
    ],
    routes: [{ name: 'echo', hostnames: [core.host], rules: [{ backendRefs: [{ name: 'echo' }], timeouts: { request: '10s', backendRequest: '2s' }, retry: { attempts: 2, codes: [502, 503, 504], backoff: '25ms' } }] }],
  },
  'resilience',
)

const up = start('upstream', process.execPath, ['--import', 'tsx', join(ROOT, 'bench/upstream.ts')], { core: PROXY_CORE, env: { PORT: String(PORTS.upstream) } })
await waitForPort(PORTS.upstream, up)
const peers = [
  { name: 'core', port: PORTS.core, admin: PORTS.adminCore, files: core },
  { name: 'resilience', port: PORTS.resilience, admin: PORTS.adminResilience, files: resilience },
].map((p) => {
  const proc: Started = start(p.name, process.execPath, [join(ROOT, 'bin/legate.js'), 'ambassador', '--config-file', p.files.configFile, '--mesh', MESH, '--trust', p.files.jwks, '--outbound', String(p.port), '--admin', String(p.admin), '--log-level', 'warn'], { core: PROXY_CORE })
  return { ...p, proc }
})
const connections = Number(values.connections)
for (const p of peers) {
  await waitForPort(p.port, p.proc)
  await runWrk({ url: `http://127.0.0.1:${p.port}/100b`, connections, durationS: 2, host: core.host })
}
const results: Record<string, { rps: number; us: number }[]> = {}
for (let r = 0; r < Number(values.rounds); r++) {
  for (const p of peers) {
    const cpu0 = treeCpu(p.proc.pid)
    const w = await runWrk({ url: `http://127.0.0.1:${p.port}/100b`, connections, durationS: Number(values.duration), host: core.host })
    const us = (treeCpu(p.proc.pid) - cpu0) / w.requests
    ;(results[p.name] ??= []).push({ rps: w.rps, us })
    console.log(`round ${r + 1} ${p.name.padEnd(10)} ${w.rps.toFixed(0).padStart(7)} req/s ${us.toFixed(1)} µs/req errors ${w.errors + w.non2xx}`)
    await sleep(300)
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
for (const [name, rs] of Object.entries(results)) console.log(`median ${name.padEnd(10)} ${median(rs.map((x) => x.rps)).toFixed(0)} req/s ${median(rs.map((x) => x.us)).toFixed(1)} µs/req`)
await stopAll()
