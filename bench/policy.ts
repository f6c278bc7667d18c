/**
 * The policy path against the core path, on the inbound listener of one `legate ambassador`
 * (`--service echo --app <upstream>`), max throughput (wrk, 32 connections, 100 B):
 *  - core: a config with no policies, requests without an identity token;
 *  - policy: 100 authorization policies targeting echo (99 DENY policies from `frontend` whose
 *    `to`/`when` do not match a GET /100b — paths, GET + paths, a header — so every one is
 *    evaluated — and one ALLOW from service `frontend`), a token
 *    bucket per source service with a limit far above the load, and every request carrying
 *    a `legate-identity` token minted by `frontend` (one token, as a caller's ambassador
 *    reuses its cached token until renewal).
 * The two take turns round by round. The difference in CPU per request is the policy cost.
 * @module
 */
import { join } from 'node:path'
import { writeFileSync } from 'node:fs'
import { request } from 'undici'
import { start, stop, treeCpu, treeRssMb, waitForPort, sleep, PROXY_CORE, type Started } from './lib/proc.ts'
import { prepareLegate, ambassadorAvailable, MESH, SERVICE } from './lib/legate.ts'
import { runWrk } from './lib/wrk.ts'
import { median, spread, round } from './lib/stats.ts'
import { generateSigningKey, importSigningKey } from '../protocol/index.ts'
import { createIdentityMinter } from '../protocol/identity/index.ts'

const ROOT = new URL('../', import.meta.url).pathname
const PORT = 19240

export interface PolicyOptions {
  dir: string
  upstreamUrl: string
  rounds: number
  durationS: number
  warmupS: number
  log: (s: string) => void
}

export async function runPolicy(o: PolicyOptions) {
  o.log('\n== policy ==')
  const why = ambassadorAvailable()
  if (why) return { skipped: why }
  const fe = await generateSigningKey('frontend-1')
  const echoKey = await generateSigningKey('echo-1')
  const services = [
    { name: SERVICE, endpoints: [o.upstreamUrl], identity: { keys: [echoKey.publicJwk] } },
    { name: 'frontend', endpoints: ['http://127.0.0.1:9'], identity: { keys: [fe.publicJwk] } },
  ]
  const authorization = [
    ...Array.from({ length: 99 }, (_, i) => ({
      name: `deny-${i}`,
      targets: [SERVICE],
      action: 'DENY',
      // Shapes that a GET /100b from frontend must evaluate and not match: a path, a path with
      // GET, a header condition (none limited to another method, which would be skipped early).
      rules: [
        i % 3 === 0
          ? { from: [{ services: ['frontend'] }], to: [{ paths: [`/admin-${i}/*`] }] }
          : i % 3 === 1
            ? { from: [{ services: ['frontend'] }], to: [{ methods: ['GET'], paths: [`/internal-${i}*`] }] }
            : { from: [{ services: ['frontend'] }], when: [{ header: 'x-tenant', values: [`t${i}`] }] },
      ],
    })),
    { name: 'allow-frontend', targets: [SERVICE], action: 'ALLOW', rules: [{ from: [{ services: ['frontend'] }], to: [{ methods: ['GET', 'POST'] }] }] },
  ]
  const rateLimits = [{ name: 'per-source', targets: [SERVICE], key: 'source-service', limit: { requests: 1_000_000_000, per: '1s' } }]
  let variants: Record<string, ReturnType<typeof prepareLegate>>
  try {
    variants = {
      core: prepareLegate(o.dir, o.upstreamUrl, { mesh: MESH, services }, 'policy-core'),
      policy: prepareLegate(o.dir, o.upstreamUrl, { mesh: MESH, services, policies: { authorization, rateLimits } }, 'policy-full'),
    }
  } catch (err) {
    o.log(`  failed to sign the configs: ${(err as Error).message.split('\n').slice(0, 4).join(' | ')}`)
    return { error: (err as Error).message.slice(0, 500) }
  }
  const key = await importSigningKey(fe.privateJwk)
  const token = await createIdentityMinter({ service: 'frontend', key }).token(SERVICE)

  const procs: Record<string, { proc: Started; port: number }> = {}
  const out: Record<string, unknown> = {}
  try {
    let i = 0
    for (const [name, files] of Object.entries(variants)) {
      const port = PORT + 3 * i++
      // LEGATE_BENCH_NODE_FLAGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/p") goes to node, for profiling.
      const flags = process.env.LEGATE_BENCH_NODE_FLAGS?.split(' ').filter(Boolean) ?? []
      const proc = start(`legate-${name}`, process.execPath, [...flags, join(ROOT, 'bin/legate.js'), 'ambassador', '--config-file', files.configFile, '--mesh', MESH, '--trust', files.jwks, '--service', SERVICE, '--app', o.upstreamUrl, '--inbound', String(port), '--outbound', String(port + 1), '--admin', String(port + 2), '--log-level', 'silent'], { core: PROXY_CORE, cwd: ROOT })
      procs[name] = { proc, port }
      await waitForPort(port, proc)
      for (let k = 0; k < 100; k++) {
        const r = await request(`http://127.0.0.1:${port + 2}/readyz`).catch(() => undefined)
        await r?.body.dump()
        if (r?.statusCode === 200) break
        await sleep(50)
      }
      const headers: Record<string, string> = { host: SERVICE, ...(name === 'policy' ? { 'legate-identity': token } : {}) }
      const check = await request(`http://127.0.0.1:${port}/100b`, { headers })
      const body = await check.body.text()
      if (check.statusCode !== 200) throw new Error(`${name}: inbound answered ${check.statusCode}: ${body.slice(0, 200)}`)
      if (name === 'policy') {
        const denied = await request(`http://127.0.0.1:${port}/100b`, { headers: { host: SERVICE } })
        await denied.body.dump()
        out.policyWithoutTokenStatus = denied.statusCode
      }
    }
    const samples: Record<string, { rps: number; cpuUsPerReq: number; p50Ms: number; p99Ms: number; errors: number; rssMb: number }[]> = {}
    const wrk = (name: string, seconds: number) => {
      const { port } = procs[name]!
      const lua = join(o.dir, `policy-${name}.lua`)
      // wrk -H takes one header per flag; the token goes in through a Lua script.
      writeFileSync(lua, name === 'policy' ? `wrk.headers["legate-identity"] = "${token}"\n` : '')
      return runWrk({ url: `http://127.0.0.1:${port}/100b`, connections: 32, durationS: seconds, host: SERVICE, script: lua })
    }
    for (const name of Object.keys(procs)) await wrk(name, o.warmupS || 1)
    for (let r = 1; r <= o.rounds; r++) {
      for (const name of Object.keys(procs)) {
        const pid = procs[name]!.proc.pid
        const c0 = treeCpu(pid)
        const w = await wrk(name, o.durationS)
        const s = { rps: w.rps, cpuUsPerReq: round((treeCpu(pid) - c0) / Math.max(1, w.requests), 2), p50Ms: w.p50Ms, p99Ms: w.p99Ms, errors: w.errors + w.non2xx, rssMb: round(treeRssMb(pid), 1) }
        ;(samples[name] ??= []).push(s)
        o.log(`  round ${r} ${name.padEnd(7)} ${Math.round(s.rps)} req/s  cpu ${s.cpuUsPerReq} µs/req  p99 ${s.p99Ms} ms${s.errors ? `  ERRORS ${s.errors}` : ''}`)
      }
    }
    for (const [name, xs] of Object.entries(samples)) {
      out[name] = {
        rounds: xs,
        median: { rps: median(xs.map((x) => x.rps)), cpuUsPerReq: median(xs.map((x) => x.cpuUsPerReq)), p50Ms: median(xs.map((x) => x.p50Ms)), p99Ms: median(xs.map((x) => x.p99Ms)), rssMb: median(xs.map((x) => x.rssMb)) },
        spread: { rps: spread(xs.map((x) => x.rps)), cpuUsPerReq: spread(xs.map((x) => x.cpuUsPerReq)) },
      }
    }
  } catch (err) {
    o.log(`  failed: ${(err as Error).message.split('\n')[0]}`)
    out.error = (err as Error).message.slice(0, 500)
  } finally {
    for (const { proc } of Object.values(procs)) await stop(proc)
  }
  return {
    method:
      'Inbound listener of `legate ambassador --service echo --app <upstream>`, wrk 32 connections, 100 B. core: no policies, no identity token. policy: 100 authorization policies on echo (99 DENY from `frontend` whose paths, GET + paths or header condition do not match, 1 ALLOW from `frontend`), a per-source-service token bucket far above the load, every request with a `legate-identity` token from `frontend` (one token reused, as a caller caches it). Taking turns round by round.',
    ...out,
  }
}
